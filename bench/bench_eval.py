"""`vocabx eval` on a real pipeline: SmolLM2-135M-Instruct extended for medical Chinese (and, optionally, briefly
trained), measured against the base model in the same run on the medical hold-out and on general text.

Baseline: the base `smollm2-135m` (its own tokenizer and weights), evaluated in the same `evaluate` call as --base.
Held-out: rows with index % 10 == 0 of medical-zh/dialogues.csv (title + ask + answer); the extension is learned
from the other rows (`vocabx extend --mode train`). Writes `bench/results/eval.md`.

    python bench/bench_eval.py                       # extend (+2000) and eval: ~5 min on a shared 2-core CPU
    python bench/bench_eval.py --train-steps 12      # also a short embeddings-stage CPT: drift, curves
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checks import same_counts

from vocabx.eval import EvalConfig
from vocabx.eval.api import evaluate

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOCABX_SHARED_DATA") or REPO.parent / "shared" / "data")
DIALOGUES = SHARED / "corpora" / "medical-zh" / "dialogues.csv"
NEWS = SHARED / "corpora" / "general-zh" / "tnews_unlabeled.json"
WIKI = SHARED / "corpora" / "general-en" / "wiki_demo.txt"
RESULTS = REPO / "bench" / "results" / "eval.md"


def split_dialogues(tmp: Path) -> tuple[Path, Path]:
    """(held-out, training) JSONL files with a `text` field, by the index % 10 == 0 convention."""
    held, train = tmp / "heldout.jsonl", tmp / "train.jsonl"
    with open(DIALOGUES, encoding="utf-8", newline="") as fh, open(held, "w", encoding="utf-8") as h, \
            open(train, "w", encoding="utf-8") as t:
        for i, row in enumerate(csv.DictReader(fh)):
            line = json.dumps({"text": f"{row['title']}\n{row['ask']}\n{row['answer']}"}, ensure_ascii=False)
            (h if i % 10 == 0 else t).write(line + "\n")
    return held, train


def vocabx(*args: str) -> float:
    """Run a vocabx command (as a user would); return its wall time."""
    started = time.perf_counter()
    exe = shutil.which("vocabx") or str(Path(sys.executable).with_name("vocabx"))
    subprocess.run([exe, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def build_model(tmp: Path, train: Path, held: Path, budget: int, steps: int) -> tuple[Path, dict[str, float]]:
    """Extend smollm2-135m for the training rows; optionally a short CPT (embeddings stage) with eval_bpc logged."""
    times = {"extend_s": vocabx("extend", "smollm2-135m", "--mode", "train", "--corpus", str(train), "--corpus-max-chars",
                                "1000000", "--budget", str(budget), "--check-docs", "200", "--out", str(tmp / "ext"))}
    if not steps:
        return tmp / "ext", times
    small = tmp / "heldout_small.jsonl"
    small.write_text("".join(held.read_text(encoding="utf-8").splitlines(keepends=True)[:8]), encoding="utf-8")
    times["train_s"] = vocabx(
        "train", "cpt", str(tmp / "ext"), "--data", str(train), "--max-chars", "200000", "--block-size", "128",
        "--batch-size", "2", "--max-steps", str(steps), "--embed-steps", str(steps), "--log-steps", "2",
        "--eval-data", str(small), "--eval-steps", str(max(1, steps // 2)), "--eval-max-docs", "8",
        "--out", str(tmp / "cpt"))
    return tmp / "cpt", times


def table(data: dict) -> list[str]:
    lines = ["| model | corpus | role | bits/char | chars/token | context gain | decode chars/s | decode tokens/s |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in data["rows"]:
        def f(key: str, spec: str = ".3f", r: dict = r) -> str:
            return "-" if r.get(key) is None else format(r[key], spec)

        lines.append(f"| {r['tokenizer']} | {r['corpus']} | {r['role']} | {f('bits_per_char', '.4f')} | "
                     f"{f('eval_chars_per_token')} | {f('eval_context_gain')} | {f('decode_chars_per_s', '.2f')} | "
                     f"{f('decode_tokens_per_s', '.2f')} |")
    return lines


def report(data: dict, args: argparse.Namespace, times: dict[str, float]) -> str:
    u = data["usage"] or {}
    trained = f"then {args.train_steps} embeddings-stage CPT steps" if args.train_steps else "no training"
    setup = (f"Model: SmolLM2-135M-Instruct extended by `vocabx extend --mode train --budget {args.budget}` on the "
             f"non-held-out dialogue rows (1M chars), {trained}. Baseline: the base smollm2-135m, evaluated in the same "
             f"run. Held-out: rows index % 10 == 0 of medical-zh/dialogues.csv; general: tnews headlines (zh) and "
             f"Wikipedia (en); {args.max_docs} docs / {args.max_chars} chars per corpus. Greedy decoding of "
             f"{args.decode_tokens} tokens from 3 domain prompts, torch threads = 1. Machine: 2-core CPU, 24 GB "
             f"({platform.machine()}), shared with other jobs: absolute speeds are noisy, the model/base ratio "
             f"measured side by side is what counts.")
    ref = Path(u["init_reference"]).name if u.get("init_reference") else None
    usage = (f"New tokens: {u.get('new_tokens')} (ids >= {u.get('new_start')}); share of generated tokens "
             f"{u.get('new_token_share', 0):.1%} ({u.get('distinct_emitted')} distinct); {u.get('distinct_in_domain')} "
             f"occur in the held-out domain text ({u.get('domain_new_token_occurrences')} times); flagged "
             f"under-trained: {u.get('flagged')} {u.get('flag_counts')}. Init reference: `{ref}`.")
    worst = ", ".join(f"`{w['text']}` ({'+'.join(w['flags'])}, {w['occurrences']}x)"
                      for w in u.get("under_trained", [])[:8])
    command = ("python bench/bench_eval.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])).strip()
    wall = f"Wall time: eval {data['seconds']:.0f} s; " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()) + "."
    lines = ["# vocabx eval: extended SmolLM2 vs base on medical hold-out and general text", "", "```", command, "```",
             "", setup, "", *table(data), "", usage, "", f"Worst under-trained: {worst}.", "",
             f"Criterion: {u.get('criterion')}.", "", wall, ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=2000)
    parser.add_argument("--train-steps", type=int, default=0)
    parser.add_argument("--max-docs", type=int, default=16)
    parser.add_argument("--max-chars", type=int, default=3000)
    parser.add_argument("--decode-tokens", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as name:
        tmp = Path(name)
        held, train = split_dialogues(tmp)
        model, times = build_model(tmp, train, held, args.budget, args.train_steps)
        result = evaluate(EvalConfig(
            model=str(model), base="smollm2-135m", domain=(f"med={held}",),
            general=(f"news-zh={NEWS}#sentence", f"wiki={WIKI}"), max_docs=args.max_docs,
            max_chars=args.max_chars, decode_tokens=args.decode_tokens, threads=1, out=str(tmp / "eval")))
        data = result.to_dict()
        for corpus in {r["corpus"] for r in data["rows"]}:  # model and base scored on the same characters
            same_counts({r["tokenizer"]: r["eval_chars"] for r in data["rows"] if r["corpus"] == corpus},
                        f"characters scored on {corpus}")
        text = report(data, args, times)
    print(text)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
