"""The cases of issue 15 through the CLI, as a new and a hostile user meet them: --force never deletes inputs or
the working directory, an OUT that appears mid-run is not overwritten, corrupt inputs and config files give one
line and no traceback, the analyze -> extend seam carries the corpus options across directories, `#` in paths,
non-Han corpora, verify looking at the embeddings, extend refusing failed guarantees. (Training faults: see
test_train_faults.py; hints naming real flags: test_hints.py.)"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests._builders import base_bpe, train_sp
from tests._tiny_llama import write_tiny_model
from vocabx.cli import main

ZH = ["患者服用头孢克肟治疗感染。", "糖尿病患者需要控制血糖。", "高血压患者的血压很高。", "头孢克肟和阿莫西林。"]
def english(n: int = 200, seed: int = 0) -> list[str]:
    """Clinical English where `blood pressure` and `heart rate` occur amid varied neighbours (free on both sides)."""
    rng = random.Random(seed)
    before = ["his", "her", "high", "low", "normal", "elevated", "measured", "the", "a", "stable"]
    after = ["was", "is", "and", "remained", "rose", "fell", "improved", "in", "at", "today"]
    fillers = ["the patient", "a nurse", "the doctor", "her family", "the clinic", "his wife", "the child"]
    out = []
    for _ in range(n):
        term = rng.choice(["blood pressure", "heart rate", "metformin", "diabetes"])
        out.append(f"{rng.choice(fillers).capitalize()} said {rng.choice(before)} {term} {rng.choice(after)} "
                   f"{rng.choice(fillers)}.")
    return out


EN = english()


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def one_line_error(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and result.output.startswith("Error: "), result.output
    assert result.output.count("\n") == 1, result.output
    return result.output


def bpe_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "tokenizer.json").write_text(base_bpe().json_text, encoding="utf-8")
    (path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast"}))
    return path


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    bpe_dir(tmp_path / "base")
    (tmp_path / "corpus.txt").write_text("\n".join(ZH * 30) + "\n", encoding="utf-8")
    (tmp_path / "terms.txt").write_text("头孢克肟\n糖尿病\n高血压\n", encoding="utf-8")
    return tmp_path


# -- 1. --force deletes inputs or the working directory --------------------------------------------------------


@pytest.mark.slow
def test_analyze_force_into_the_corpus_directory_deletes_nothing(work: Path) -> None:
    victim = work / "v"
    victim.mkdir()
    (victim / "corpus.txt").write_text((work / "corpus.txt").read_text(encoding="utf-8"), encoding="utf-8")
    (victim / "notes.txt").write_text("mine")
    result = run("analyze", "v/corpus.txt", "-t", "base", "--min-freq", "2", "-o", "v", "--force", "--workers", "1")
    assert "holds the input" in one_line_error(result)
    assert sorted(p.name for p in victim.iterdir()) == ["corpus.txt", "notes.txt"]


def test_extend_force_onto_the_base_or_the_working_directory_deletes_nothing(work: Path) -> None:
    victim = work / "victim"
    victim.mkdir()
    bpe_dir(victim / "base_tok")
    result = run("extend", "victim/base_tok", "--terms", "terms.txt", "--budget", "5", "--out", "victim", "--force")
    assert "holds the input" in one_line_error(result)
    assert (victim / "base_tok" / "tokenizer.json").is_file()
    for out in (".", str(work), str(work.parent)):
        result = run("extend", "base", "--terms", "terms.txt", "--budget", "5", "--out", out, "--force")
        assert "working directory" in one_line_error(result)
    assert sorted(p.name for p in work.iterdir()) == ["base", "corpus.txt", "terms.txt", "victim"]


# -- 2. OUT appearing during the run; two runs racing for one OUT ----------------------------------------------


def test_an_out_created_during_extend_is_kept_and_the_run_fails(work: Path, monkeypatch) -> None:
    import vocabx.extend.api as api

    real = api._check

    def meanwhile(*args, **kwargs):
        (work / "out").mkdir()
        (work / "out" / "theirs.txt").write_text("someone else's")
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "_check", meanwhile)
    result = run("extend", "base", "--terms", "terms.txt", "--budget", "20", "--out", "out", "--corpus", "corpus.txt")
    assert "appeared while this run was working" in one_line_error(result)
    assert [p.name for p in (work / "out").iterdir()] == ["theirs.txt"]
    assert not [p for p in work.iterdir() if p.name.startswith(".out")]


@pytest.mark.slow
def test_two_extends_racing_for_one_out_one_wins_one_fails_cleanly(work: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "vocabx.cli", "extend", "base", "--terms", "terms.txt", "--budget", "20",
           "--out", "out", "--corpus", "corpus.txt"]
    procs = [subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, _, err in results if code == 1)
    assert ("already exists" in loser or "appeared" in loser) and "Traceback" not in loser
    assert (work / "out" / "manifest.json").is_file()
    assert not [p for p in work.iterdir() if p.name.startswith(".out")]


# -- 7. analyze on text without Han characters ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["auto", "other"])
def test_analyze_english_with_byte_level_bpe(work: Path, lang: str) -> None:
    (work / "en.txt").write_text("\n".join(EN) + "\n", encoding="utf-8")
    result = run("analyze", "en.txt", "-t", "base", "--min-freq", "3", "-o", "a", "--lang", lang, "--workers", "1")
    assert result.exit_code == 0, result.output
    terms = [r[0] for r in csv.reader((work / "a" / "terms.tsv").open(encoding="utf-8"), delimiter="\t")][1:]
    assert "pressure" in terms and not any(" " in t for t in terms)  # byte-level BPE: no token spans a space
    assert json.loads((work / "a" / "manifest.json").read_text())["counts"]["skipped"]["multiword_crosses_boundary"] > 0


@pytest.mark.slow
def test_analyze_english_with_sentencepiece_finds_multiword_terms_extend_adds(work: Path) -> None:
    (work / "en.txt").write_text("\n".join(EN) + "\n", encoding="utf-8")
    (work / "sp.model").write_bytes(train_sp([*EN, *ZH * 30], vocab_size=400))
    result = run("analyze", "en.txt", "-t", "sp.model", "--min-freq", "3", "-o", "a", "--workers", "1")
    assert result.exit_code == 0, result.output
    terms = [r[0] for r in csv.reader((work / "a" / "terms.tsv").open(encoding="utf-8"), delimiter="\t")][1:]
    assert "blood pressure" in terms and "heart rate" in terms
    rows = list(csv.DictReader((work / "a" / "terms.tsv").open(encoding="utf-8"), delimiter="\t"))
    (work / "phrases.txt").write_text("".join(r["term"] + "\n" for r in rows if r["source"] == "phrase"), "utf-8")
    result = run("extend", "sp.model", "--terms", "phrases.txt", "--budget", "40", "--out", "x")
    assert result.exit_code == 0, result.output
    entries = (work / "x" / "new_entries.tsv").read_text(encoding="utf-8")
    added = [line.split("\t")[3].strip() for line in entries.splitlines()[1:] if line.split("\t")[1] == "term"]
    assert "blood pressure" in added and "heart rate" in added, entries


# -- 8, 9, 10. corrupt inputs and config files -----------------------------------------------------------------


@pytest.mark.slow
def test_a_truncated_model_is_one_line_for_extend_and_train(work: Path) -> None:
    model = write_tiny_model(work / "m")
    weights = model / "model.safetensors"
    os.truncate(weights, weights.stat().st_size // 2)
    result = run("extend", "m", "--terms", "terms.txt", "--budget", "5", "--out", "x")
    assert "is truncated" in one_line_error(result) and not (work / "x").exists()
    result = run("train", "cpt", "m", "--data", "corpus.txt", "--out", "t", "--max-steps", "1", "--block-size", "16")
    assert "is truncated" in one_line_error(result) and not (work / "t").exists()


@pytest.mark.parametrize("content,field", [
    (b"\xff\xfebudget: 3\n", "not UTF-8"),
    (b"out: [a, b]\nbudget: 3\n", "'out' must be a string"),
    (b"budget: lots\nout: x\n", "'budget' must be an integer"),
    (b"general: 5\nbudget: 3\nout: x\n", "'general' must be a list"),
])
def test_bad_config_files_name_the_problem(work: Path, content: bytes, field: str) -> None:
    (work / "c.yaml").write_bytes(content)
    result = run("extend", "base", "--terms", "terms.txt", "--config", "c.yaml")
    assert field in one_line_error(result, 2)


def test_bench_eval_file_that_is_not_json(work: Path) -> None:
    (work / "eval.json").write_text("this is not json")
    result = run("bench", "base", "--corpus", "corpus.txt", "--eval", "eval.json")
    assert "not readable JSON" in one_line_error(result, 2)


# -- 14, 15. the analyze -> extend seam ------------------------------------------------------------------------


@pytest.fixture
def analysis(work: Path) -> Path:
    """An analysis of a CSV corpus read with --text-field, made in `work/data`."""
    data = work / "data"
    data.mkdir()
    with open(data / "dialogues.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["department", "ask", "answer"])
        for i in range(60):
            writer.writerow(["内科", ZH[i % 4], ZH[(i + 1) % 4]])
    old = Path.cwd()
    os.chdir(data)
    try:
        result = run("analyze", "dialogues.csv", "--text-field", "ask,answer", "-t", str(work / "base"),
                     "--min-freq", "2", "-o", "analysis", "--workers", "1")
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output
    return data / "analysis"


@pytest.mark.slow
def test_extend_reuses_the_analysis_corpus_options_from_another_directory(work: Path, analysis: Path) -> None:
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    os.chdir(elsewhere)
    result = run("extend", str(work / "base"), "--terms", str(analysis), "--budget", "30", "--out", "x")
    assert result.exit_code == 0, result.output
    manifest = json.loads((elsewhere / "x" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["corpus"]["text_field"] == "ask,answer" and manifest["corpus"]["from"] == "analysis"
    assert manifest["corpus"]["specs"] == [str(work / "data" / "dialogues.csv")]
    # The corpus changed since: said, and still used.
    with open(work / "data" / "dialogues.csv", "a", encoding="utf-8") as fh:
        fh.write("内科,新的问题,新的回答\n")
    result = run("extend", str(work / "base"), "--terms", str(analysis), "--budget", "30", "--out", "y")
    assert result.exit_code == 0 and "changed since the analysis" in result.output, result.output
    # The corpus moved: a clear message naming where it was and the flag that fixes it.
    os.rename(work / "data" / "dialogues.csv", work / "data" / "moved.csv")
    result = run("extend", str(work / "base"), "--terms", str(analysis), "--budget", "30", "--out", "z")
    message = one_line_error(result)
    assert "is no longer there" in message and "dialogues.csv" in message and "--corpus" in message


# -- 17. `#` in a path ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_general_spec_with_a_hash_in_the_file_name(work: Path) -> None:
    (work / "gen#x.txt").write_text("\n".join(EN[:20]), encoding="utf-8")
    (work / "gen.jsonl").write_text("\n".join(json.dumps({"sentence": s}) for s in EN[:4]), encoding="utf-8")
    result = run("extend", "base", "--terms", "terms.txt", "--budget", "20", "--out", "x", "--corpus", "corpus.txt",
                 "--general", "gen#x.txt", "--general", "gen.jsonl#sentence")
    assert result.exit_code == 0, result.output
    never_longer = json.loads((work / "x" / "manifest.json").read_text())["guarantees"]["never_longer"]
    assert never_longer["gen#x.txt"]["docs"] == 20 and never_longer["gen.jsonl#sentence"]["docs"] == 4
    result = run("verify", "base", "x", "--general", "gen.jsonl#nope")
    assert "--general SPEC#" in one_line_error(result)


# -- 11, 12, 13. checks that must fail -------------------------------------------------------------------------


@pytest.mark.slow
def test_verify_checks_the_embedding_rows_against_the_tokenizer(work: Path) -> None:
    write_tiny_model(work / "m")
    (work / "t2.txt").write_text("检查药物\n治疗症状\n医生患者\n", encoding="utf-8")
    assert run("extend", "m", "--terms", "t2.txt", "--budget", "10", "--out", "x").exit_code == 0
    assert run("verify", "m", "x").exit_code == 0
    spec = json.loads((work / "x" / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    a, b = (t for t, i in vocab.items() if i in (406, 407))
    vocab[a], vocab[b] = vocab[b], vocab[a]  # swap two new ids
    (work / "x" / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    result = run("verify", "m", "x")
    assert result.exit_code == 1 and "[FAIL] embeddings" in result.output and "some guarantees FAIL" in result.output
    # A tokenizer with more ids than the model has rows.
    write_tiny_model(work / "short", vocab_rows=300)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (work / "short" / name).write_bytes((work / "m" / name).read_bytes())
    result = run("verify", "m", "short")
    assert result.exit_code == 1 and "300 embedding rows for 406 tokenizer ids" in result.output


def test_extend_refuses_a_failed_guarantee_unless_allowed(work: Path, monkeypatch) -> None:
    import vocabx.extend.api as api
    from vocabx.extend.verify import Check

    real = api._check

    def longer(*args, **kwargs):
        report = real(*args, **kwargs)
        report.checks = [c if c.name != "never_longer" else Check("never_longer", False, "3 documents got longer")
                         for c in report.checks]
        return report

    monkeypatch.setattr(api, "_check", longer)
    args = ["extend", "base", "--terms", "terms.txt", "--budget", "20", "--out", "x", "--corpus", "corpus.txt"]
    message = one_line_error(run(*args))
    assert "fails never_longer" in message and "--allow-failed never_longer" in message and not (work / "x").exists()
    result = run(*args, "--allow-failed", "never_longer")
    assert result.exit_code == 0 and "[FAIL] never_longer" in result.output
    manifest = json.loads((work / "x" / "manifest.json").read_text())
    assert manifest["guarantees"]["never_longer"]["passed"] is False


def test_lossless_checks_random_unicode_and_reports_base_losses_apart() -> None:
    from vocabx.extend.probes import random_unicode
    from vocabx.extend.verify import check_lossless

    texts = random_unicode(300)
    planes = {ord(c) >> 16 for t in texts for c in t}
    assert {0, 1, 2, 14, 15, 16} <= planes
    assert any(0x80 <= ord(c) <= 0x9F for t in texts for c in t)  # C1 controls
    assert any(0x300 <= ord(c) <= 0x36F for t in texts for c in t)  # combining marks

    class BmpOnly:
        """A base that loses everything outside the BMP, as a normalizing tokenizer without bytes might."""

        def encode_batch(self, items):
            return [[ord(c) for c in t] for t in items]

        def decode(self, ids):
            return "".join(chr(i) for i in ids if i < 0x10000)

    class LosesMore(BmpOnly):
        def decode(self, ids):
            return super().decode(ids)[1:]  # loses a character of every text

    check = check_lossless(BmpOnly(), BmpOnly(), texts)
    assert check.passed is True and check.figures["base_losses"] > 0 and check.figures["failed"] == 0
    assert "the base itself does not round-trip" in check.summary
    worse = check_lossless(BmpOnly(), LosesMore(), texts)
    assert worse.passed is False and worse.figures["failed"] > 0  # the extension's own losses, counted apart


# -- 18. what a training run reports ---------------------------------------------------------------------------


def test_short_run_reports_its_loss_and_lists_only_the_files_it_wrote(work: Path) -> None:
    write_tiny_model(work / "m")
    result = run("train", "cpt", "m", "--data", "corpus.txt", "--out", "r", "--block-size", "16", "--batch-size", "2",
                 "--max-steps", "3", "--log-steps", "10", "--method", "full", "--embed-steps", "0")
    assert result.exit_code == 0, result.output
    assert "final loss " in result.output and "n/a" not in result.output
    manifest = json.loads((work / "r" / "manifest.json").read_text(encoding="utf-8"))
    assert "log.jsonl" in manifest["outputs"] and (work / "r" / "log.jsonl").is_file()
    assert all((work / "r" / name).exists() for name in manifest["outputs"])


def test_sft_names_the_line_of_a_broken_record(work: Path) -> None:
    write_tiny_model(work / "m")
    good = json.dumps({"instruction": "a", "output": "b"})
    (work / "bad.jsonl").write_text(f"{good}\n\n{good}\n{{oops\n", encoding="utf-8")
    result = run("train", "sft", "m", "--data", "bad.jsonl", "--out", "s")
    assert "bad.jsonl:4: line 4 is not valid JSON" in one_line_error(result)
