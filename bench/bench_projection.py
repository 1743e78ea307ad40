"""Does `analyze`'s projection predict the real extended tokenizer? Side by side, on the corpus it was mined from.

For each budget K in the projection, the top K terms of `terms.tsv` are added to the base tokenizer for real
(by the family's extender, with a budget large enough for every intermediate they need, so exactly those K terms
are the target), the mining corpus is re-tokenized, and its chars/token is set beside the projected one.
The goal (issue #3): within 2%.

    python bench/bench_projection.py [--tokenizer smollm2 --tokenizer PATH/llama2/tokenizer.model]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_extend_bytelevel import SHARED, dialogues  # noqa: E402

MACHINE = "2-core CPU, 24 GB (shared with other jobs)"
LLAMA2 = SHARED / "tokenizers" / "llama2" / "tokenizer.model"


def run(tokenizer: str, train: list[str], tmp: Path) -> list[dict]:
    from vocabx.adapters import load_tokenizer
    from vocabx.analyze import AnalyzeConfig, analyze
    from vocabx.extend.registry import get_extender
    from vocabx.extend.terms import read_terms

    corpus = tmp / "train.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in train), encoding="utf-8")
    out = tmp / f"analysis-{Path(tokenizer).stem}"
    analyze(AnalyzeConfig(corpus=(str(corpus),), tokenizer=tokenizer, out=str(out), top=0, force=True))
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    terms = [t for t in read_terms(out / "terms.tsv").terms]
    base = load_tokenizer(tokenizer)
    chars = sum(len(t) for t in train)
    rows = []
    for point in report["projection"]:
        k = point["budget"]
        start = time.perf_counter()
        extension = get_extender(base.family).extend(base, terms[:k], budget=20 * k, corpus=train)
        real_tokens = extension.extended.count_tokens(train)
        real = chars / real_tokens
        rows.append({
            "tokenizer": Path(tokenizer).parent.name if os.sep in tokenizer else tokenizer, "terms": k,
            "entries": len(extension.added), "projected": point["chars_per_token"], "real": round(real, 4),
            "error": round(point["chars_per_token"] / real - 1, 4), "seconds": round(time.perf_counter() - start, 1),
        })
        print(rows[-1], flush=True)
    return rows


def render(rows: list[dict], command: str) -> str:
    lines = [
        "## analyze's projection vs the real extended tokenizer",
        "",
        f"Command: `{command}`. Machine: {MACHINE}.",
        "Corpus: the medical mining rows (index % 10 != 0), the same text analyze mined and projected on. For each",
        "projection budget K, the top K terms are added for real (every intermediate they need included, so",
        "`entries` >= K) and the corpus is re-tokenized. error = projected / real - 1; goal: within 2%.",
        "",
        "| tokenizer | top K terms | entries added | projected chars/token | real chars/token | error |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['tokenizer']} | {r['terms']:,} | {r['entries']:,} | {r['projected']:.4f} | {r['real']:.4f} | {r['error']:+.1%} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer", action="append", default=None)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "projection.md"))
    args = parser.parse_args()
    tokenizers = args.tokenizer or ["smollm2", str(LLAMA2)]
    train, _ = dialogues()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for tok in tokenizers:
            rows += run(tok, train, Path(tmp))
    command = "python bench/bench_projection.py" + "".join(f" --tokenizer {t}" for t in (args.tokenizer or []))
    Path(args.out).write_text(render(rows, command), encoding="utf-8")
    print(render(rows, command))


if __name__ == "__main__":
    main()
