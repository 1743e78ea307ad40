"""More cases of bench/bench_reliability.py: plausible and malformed inputs (corpora, models, config files),
checks that must fail, and the seams between commands (analyze -> extend, `#` in paths, hints)."""

from __future__ import annotations

import json
import os
import shutil

from bench_reliability import SHARED, TRAIN, Case, case, last_line
from cases_reliability import CPT_BASE, EXTEND, code, one

ANALYZE = ["-t", "base", "--min-freq", "2", "-o", "out", "--workers", "1"]


def _write(c: Case, name: str, data: bytes | str) -> str:
    path = c.dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return name


def _terms(c: Case) -> str:
    import csv

    rows = list(csv.reader((c.dir / "out" / "terms.tsv").open(encoding="utf-8"), delimiter="\t"))[1:]
    return ", ".join(r[0] for r in rows[:6]) or "(none)"


def _analyze(c: Case, corpus: str, *extra: str) -> tuple[str, str]:
    proc = c.run("analyze", corpus, *ANALYZE, *extra)
    if proc.returncode != 0:
        return code(proc), last_line(proc)
    return code(proc), f"top terms: {_terms(c)}"


# -- corpora in other scripts and shapes ---------------------------------------------------------------------


@case("analyze-english-byte-level", "7", "analyze en.txt -t base (byte-level BPE)", replaces=("out",))
def _(c):
    return _analyze(c, "en.txt")


@case("analyze-english-lang-other", "7", "analyze en.txt -t base --lang other", replaces=("out",))
def _(c):
    return _analyze(c, "en.txt", "--lang", "other")


@case("analyze-english-sentencepiece", "7", "analyze en.txt -t llama2/tokenizer.model (multi-word terms)",
      replaces=("out",))
def _(c):
    proc = c.run("analyze", "en.txt", "-t", str(SHARED / "tokenizers/llama2/tokenizer.model"), "--min-freq", "3",
                 "-o", "out", "--workers", "1")
    if proc.returncode:
        return code(proc), last_line(proc)
    import csv

    rows = list(csv.reader((c.dir / "out" / "terms.tsv").open(encoding="utf-8"), delimiter="\t"))[1:]
    return code(proc), f"top terms: {_terms(c)}; multi-word: {', '.join(r[0] for r in rows if ' ' in r[0]) or 'none'}"


@case("analyze-wikipedia-english-sentencepiece", "7", "analyze wiki.txt (300 kB of general-en/wiki_demo.txt) "
      "-t llama2/tokenizer.model", replaces=("out",))
def _(c):
    import csv

    _write(c, "wiki.txt", (SHARED / "corpora/general-en/wiki_demo.txt").read_bytes()[:300_000].decode("utf-8", "ignore"))
    proc = c.run("analyze", "wiki.txt", "-t", str(SHARED / "tokenizers/llama2/tokenizer.model"), "--min-freq", "3",
                 "-o", "out")
    if proc.returncode:
        return code(proc), last_line(proc)
    rows = list(csv.reader((c.dir / "out" / "terms.tsv").open(encoding="utf-8"), delimiter="\t"))[1:]
    phrases = [r[0] for r in rows if " " in r[0]]
    return code(proc), f"{len(phrases)} multi-word terms of {len(rows)}, first: {', '.join(phrases[:8])}"


@case("analyze-russian", "7+", "analyze ru.txt -t base", replaces=("out",))
def _(c):
    text = "Артериальное давление у пациента высокое. Частота сердечных сокращений в норме.\n" * 40
    return _analyze(c, _write(c, "ru.txt", text))


@case("analyze-arabic-and-hindi", "7+", "analyze mixed.txt -t base", replaces=("out",))
def _(c):
    text = "ضغط الدم مرتفع عند المريض. रक्तचाप बहुत अधिक है। ضغط الدم\n" * 40
    return _analyze(c, _write(c, "mixed.txt", text))


@case("analyze-emoji-only", "7+", "analyze emoji.txt -t base", replaces=("out",))
def _(c):
    return _analyze(c, _write(c, "emoji.txt", "😀🎉👩‍⚕️ 🇨🇳🇨🇳 ✨✨✨\n" * 50))


@case("analyze-chinese-forced-other", "7+", "analyze zh.txt -t base --lang other", replaces=("out",))
def _(c):
    return _analyze(c, "zh.txt", "--lang", "other")


@case("analyze-gb18030-file", "+", "analyze neike-excerpt.gb18030.txt -t base", replaces=("out",))
def _(c):
    shutil.copy(SHARED / "corpora/medical-zh/neike-excerpt.gb18030.txt", c.dir / "gb.txt")
    return _analyze(c, "gb.txt")


@case("analyze-utf16-file", "+", "analyze u16.txt (UTF-16 with BOM) -t base", replaces=("out",))
def _(c):
    return _analyze(c, _write(c, "u16.txt", (c.dir / "zh.txt").read_text(encoding="utf-8").encode("utf-16")))


@case("analyze-path-with-spaces-and-unicode", "+", "analyze '病历 2024/all notes.txt' -t base", replaces=("out",))
def _(c):
    return _analyze(c, _write(c, "病历 2024/all notes.txt", (c.dir / "zh.txt").read_text(encoding="utf-8")))


@case("analyze-sigint", "5+", "analyze dialogues.csv x3 (15 MB) ... & kill -INT $! after 3 s")
def _(c):
    import time

    for i in range(3):
        shutil.copy(SHARED / "corpora/medical-zh/dialogues.csv", c.dir / f"big{i}.csv")
    proc = c.start("analyze", "big0.csv", "big1.csv", "big2.csv", "--text-field", "title,ask,answer", *ANALYZE)
    time.sleep(3)
    proc.send_signal(2)
    rc = c.finish(proc)
    left = [p.name for p in c.dir.iterdir() if p.name.startswith((".out", "out"))]
    said = c.outputs[-1].strip().splitlines()
    return code(rc), f"{said[-1] if said else '(nothing said)'}; left behind: {left or 'nothing'}"


# -- corrupt models and config files -----------------------------------------------------------------------------


def _truncated(c: Case) -> None:
    weights = c.dir / "model" / "model.safetensors"
    os.truncate(weights, weights.stat().st_size // 2)


@case("extend-truncated-model", "8", "extend model (model.safetensors cut in half)",
      replaces=("model/model.safetensors",))
def _(c):
    _truncated(c)
    return one(c, "extend", "model", "--terms", "terms_model.txt", "--budget", "5", "--out", "x")


@case("train-truncated-model", "8", "train cpt model (model.safetensors cut in half)",
      replaces=("model/model.safetensors",))
def _(c):
    _truncated(c)
    return one(c, *CPT_BASE, "--out", "x", *TRAIN)


@case("eval-truncated-model", "8+", "eval model (model.safetensors cut in half)",
      replaces=("model/model.safetensors",))
def _(c):
    _truncated(c)
    return one(c, "eval", "model", "--domain", "zh.txt")


@case("model-config-json-garbage", "8+", "extend model (config.json not JSON)", replaces=("model/config.json",))
def _(c):
    _write(c, "model/config.json", "{not json")
    return one(c, "extend", "model", "--terms", "terms_model.txt", "--budget", "5", "--out", "x")


@case("extend-multiword-terms-byte-level", "7+", "extend base --terms 'blood pressure' (byte-level BPE)",
      replaces=("x",))
def _(c):
    proc = c.run("extend", "base", "--terms", _write(c, "mw.txt", "blood pressure\nheart rate\n"), "--budget", "5",
                 "--out", "x")
    skipped = [line.strip() for line in proc.stdout.splitlines() if "skipped" in line]
    return code(proc), skipped[0] if skipped else last_line(proc)


# -- checks that must fail, and seams -------------------------------------------------------------------------


@case("verify-swapped-new-ids", "11", "swap two new ids in xmodel/tokenizer.json; verify model xmodel",
      replaces=("xmodel/tokenizer.json",))
def _(c):
    path = c.dir / "xmodel" / "tokenizer.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    a, b = (t for t, i in vocab.items() if i in (406, 407))
    vocab[a], vocab[b] = vocab[b], vocab[a]
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    proc = c.run("verify", "model", "xmodel")
    return code(proc), next((line.strip() for line in proc.stdout.splitlines() if "embeddings" in line), "?")


@case("verify-tokenizer-outgrew-the-model", "11", "verify model small (300 rows, a 408-id tokenizer)")
def _(c):
    from tests._tiny_llama import write_tiny_model

    write_tiny_model(c.dir / "small", vocab_rows=300)
    shutil.copy(c.dir / "xmodel" / "tokenizer.json", c.dir / "small" / "tokenizer.json")
    proc = c.run("verify", "model", "small")
    return code(proc), next((line.strip() for line in proc.stdout.splitlines() if "embeddings" in line), "?")


@case("extend-score-0-sentencepiece-merge", "12", "extend cl_merged.model --terms zh_terms --corpus zh.txt",
      replaces=("x", "cl_merged.model"))
def _(c):
    from vocabx.extend.sp_merge import merge_models

    base = (SHARED / "tokenizers/llama2/tokenizer.model").read_bytes()
    donor = (SHARED / "tokenizers/chinese-llama-sp/chinese_sp.model").read_bytes()
    (c.dir / "cl_merged.model").write_bytes(merge_models(base, donor)[0])
    proc = c.run("extend", "cl_merged.model", "--terms", _write(c, "zh_terms.txt", "高血压\n糖尿病\n头孢克肟\n"),
                 "--corpus", "zh.txt", "--budget", "20", "--out", "x")
    checks = [line.strip()[:7] + line.strip().split(":")[0][7:] for line in proc.stdout.splitlines() if "] " in line]
    return code(proc), "; ".join(checks)


@case("verify-unrelated-tokenizers", "12+", "verify base qwen2")
def _(c):
    proc = c.run("verify", "base", "qwen2", "--check-docs", "10")
    return code(proc), next((line.strip() for line in proc.stdout.splitlines() if "ids_kept" in line), "?")


@case("readme-flow-from-another-directory", "14, 15", "cd data && analyze dialogues.csv --text-field ...; "
      "cd elsewhere && extend base --terms ../data/analysis", replaces=("data", "elsewhere", "dialogues.csv"))
def _(c):
    (c.dir / "data").mkdir()
    (c.dir / "elsewhere").mkdir()
    shutil.move(c.dir / "dialogues.csv", c.dir / "data" / "dialogues.csv")
    first = c.run("analyze", "dialogues.csv", "--text-field", "title,ask,answer", "-t", "../base", "--min-freq", "3",
                  "-o", "analysis", "--workers", "1", cwd=c.dir / "data")
    second = c.run("extend", "../base", "--terms", str(c.dir / "data" / "analysis"), "--budget", "50", "--out", "x",
                   cwd=c.dir / "elsewhere")
    return code(first, second), last_line(second) if second.returncode else "extend read the CSV with the analysis's --text-field"


def _own_analysis(c: Case) -> None:
    c.run("analyze", "dialogues.csv", "--text-field", "title,ask,answer", "-t", "base", "--min-freq", "3", "-o", "an",
          "--workers", "1")


@case("analysis-corpus-moved", "15", "analyze dialogues.csv ... -o an; mv dialogues.csv moved.csv; "
      "extend base --terms an", replaces=("dialogues.csv", "moved.csv", "an"))
def _(c):
    _own_analysis(c)
    os.rename(c.dir / "dialogues.csv", c.dir / "moved.csv")
    return one(c, "extend", "base", "--terms", "an", "--budget", "20", "--out", "x")


@case("analysis-corpus-changed", "15", "analyze dialogues.csv ... -o an; append a row; extend base --terms an",
      replaces=("dialogues.csv", "x", "an"))
def _(c):
    _own_analysis(c)
    with open(c.dir / "dialogues.csv", "a", encoding="utf-8") as fh:
        fh.write("内科,新问题,新的提问,新的回答\n")
    proc = c.run("extend", "base", "--terms", "an", "--budget", "20", "--out", "x")
    note = next((line.strip() for line in proc.stdout.splitlines() if "changed since" in line), last_line(proc))
    return code(proc), note


@case("reference-json-with-its-own-field", "14+", "analyze dialogues.csv --text-field ... --reference "
      "'tnews.json#sentence'", replaces=("out",))
def _(c):
    shutil.copy(SHARED / "corpora/general-zh/tnews_unlabeled.json", c.dir / "tnews.json")
    return _analyze(c, "dialogues.csv", "--text-field", "title,ask,answer", "--reference", "tnews.json#sentence")


@case("replay-hint-names-its-flag", "16", "train cpt ... --replay tnews.json (no text field)")
def _(c):
    shutil.copy(SHARED / "corpora/general-zh/tnews_unlabeled.json", c.dir / "tnews.json")
    return one(c, *CPT_BASE, "--replay", "tnews.json", "--out", "x", *TRAIN)


@case("general-file-with-a-hash", "17", "extend ... --general 'gen#x.txt' --general 'gen.jsonl#sentence'",
      replaces=("x",))
def _(c):
    _write(c, "gen#x.txt", "The weather is fine today.\n" * 10)
    _write(c, "gen.jsonl", json.dumps({"sentence": "The market opened higher."}) + "\n")
    proc = c.run(*EXTEND, "--out", "x", "--general", "gen#x.txt", "--general", "gen.jsonl#sentence")
    return code(proc), next((line.strip() for line in proc.stdout.splitlines() if "never_longer" in line),
                            last_line(proc))


# -- one command each: name, issue, arguments, files written first ------------------------------------------

GOOD = json.dumps({"instruction": "a", "output": "b"})
LINE = json.dumps({"text": "高血压患者的血压很高。"}, ensure_ascii=False)
ONE_COMMAND: list[tuple[str, str, list[str], dict[str, bytes | str]]] = [
    ("analyze-empty-file", "+", ["analyze", "empty.txt", *ANALYZE], {"empty.txt": ""}),
    ("analyze-binary-file", "+", ["analyze", "image.txt", *ANALYZE], {"image.txt": b"\x89PNG\r\n\x1a\n\x00\x00" * 50}),
    ("analyze-csv-without-text-field", "14+", ["analyze", "dialogues.csv", *ANALYZE], {}),
    ("analyze-jsonl-with-a-broken-line", "+", ["analyze", "bad.jsonl", *ANALYZE],
     {"bad.jsonl": "\n".join([LINE, LINE, '{"text": "broken'] * 3)}),
    ("config-not-utf8", "9", ["extend", "base", "--terms", "terms.txt", "--config", "c.yaml"],
     {"c.yaml": "budget: 3".encode("utf-16")}),
    ("config-list-for-a-path", "9", ["extend", "base", "--terms", "terms.txt", "--config", "c.yaml"],
     {"c.yaml": "out: [a, b]\nbudget: 3\n"}),
    ("config-wrong-scalar", "9", [*CPT_BASE, "--out", "x", "--config", "c.yaml"], {"c.yaml": "max_steps: many\n"}),
    ("config-unknown-field", "9+", ["analyze", "zh.txt", "-t", "base", "-o", "x", "--config", "c.yaml"],
     {"c.yaml": "budgett: 3\n"}),
    ("config-yaml-syntax-error", "9+", ["extend", "base", "--terms", "terms.txt", "--config", "c.yaml"],
     {"c.yaml": "out: [a\n"}),
    ("bench-eval-not-json", "10", ["bench", "base", "--corpus", "zh.txt", "--eval", "notes.json"],
     {"notes.json": "not json"}),
    ("bench-eval-wrong-shape", "10+", ["bench", "base", "--corpus", "zh.txt", "--eval", "e.json"], {"e.json": '{"a": 1}'}),
    ("sft-broken-record-line-4", "18", ["train", "sft", "model", "--data", "bad.jsonl", "--out", "x"],
     {"bad.jsonl": f"{GOOD}\n\n{GOOD}\n{{oops\n"}),
    ("train-data-too-small", "+", ["train", "cpt", "model", "--data", "tiny.txt", "--out", "x", "--block-size", "64"],
     {"tiny.txt": "患者\n"}),
    ("extend-budget-zero", "+", ["extend", "base", "--terms", "terms.txt", "--budget", "0", "--out", "x"], {}),
    ("extend-empty-terms", "+", ["extend", "base", "--terms", "empty.txt", "--budget", "5", "--out", "x"],
     {"empty.txt": "\n\n"}),
    ("extend-terms-not-utf8", "+", ["extend", "base", "--terms", "gbk.txt", "--budget", "5", "--out", "x"],
     {"gbk.txt": "高血压\n".encode("gb18030")}),
    ("extend-terms-dir-without-terms", "+", ["extend", "base", "--terms", "corpora", "--budget", "5", "--out", "x"], {}),
    ("extend-missing-base", "+", ["extend", "nope/", "--terms", "terms.txt", "--budget", "5", "--out", "x"], {}),
]


def _one_command(args: list[str], files: dict[str, bytes | str]):
    def run(c: Case) -> tuple[str, str]:
        for name, data in files.items():
            _write(c, name, data)
        return one(c, *args)
    return run


for _name, _issue, _args, _files in ONE_COMMAND:
    case(_name, _issue, " ".join(_args))(_one_command(_args, _files))


@case("lossless-random-unicode-every-plane", "13", "verify smollm2 smollm2 (random Unicode: all planes, controls, "
      "combining marks)")
def _(c):
    proc = c.run("verify", "smollm2", "smollm2", "--check-docs", "10")
    return code(proc), next((line.strip() for line in proc.stdout.splitlines() if "lossless" in line), last_line(proc))
