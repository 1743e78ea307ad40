"""Does `analyze`'s projection predict the real extended tokenizer? Side by side, on the corpus it was mined from and
on held-out text from other sources.

`vocabx analyze` mines medical-zh/dialogues.csv with `--heldout` (sft answers, medical_corpus.txt) and projects
chars/token on both for each budget; then, per budget, `vocabx extend BASE --terms ANALYSIS_DIR --budget N` (the
library call, from the written plan.tsv) builds the extended tokenizer and both texts are re-tokenized with it.
error = projected / real - 1; goal (issue #17): within 1%.

    python bench/bench_projection.py [--tokenizer smollm2 --tokenizer PATH/llama2/tokenizer.model] [--budgets ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_analyze import LLAMA, MACHINE, dialogues, heldout, write_jsonl
from checks import require, round_trip


def run(tokenizer: str, budgets: list[int], tmp: Path) -> list[dict]:
    from vocabx.adapters import load_tokenizer
    from vocabx.analyze import AnalyzeConfig, analyze
    from vocabx.extend.api import ExtendConfig, extend

    mined = dialogues()
    held = [t for texts in heldout().values() for t in texts]
    corpus, held_path = write_jsonl(tmp / "mined.jsonl", mined), write_jsonl(tmp / "heldout.jsonl", held)
    out = tmp / f"analysis-{Path(tokenizer).stem}"
    start = time.perf_counter()
    report = analyze(AnalyzeConfig(corpus=(str(corpus),), tokenizer=tokenizer, out=str(out), force=True,
                                   heldout=(str(held_path),), budgets=tuple(budgets))).report
    analyze_s = time.perf_counter() - start
    rows = []
    for mined_point, held_point in zip(report["projection"], report["projection_heldout"]):
        ext_dir = tmp / f"ext-{Path(tokenizer).stem}-{mined_point['budget']}"
        result = extend(ExtendConfig(base=tokenizer, terms=str(out), budget=mined_point["budget"], out=str(ext_dir),
                                     corpus=(str(corpus),), check_docs=50, force=True))
        extended = load_tokenizer(str(ext_dir))
        require(result.counts["added"] <= mined_point["budget"],
                f"extend added {result.counts['added']} entries at budget {mined_point['budget']}")
        round_trip(f"{tokenizer} +{mined_point['budget']}", extended.encode_batch, extended.decode, held)
        for text_name, texts, point in (("mined", mined, mined_point), ("held-out", held, held_point)):
            real = sum(map(len, texts)) / extended.count_tokens(texts)
            rows.append({"tokenizer": Path(tokenizer).parent.name if "/" in tokenizer else tokenizer,
                         "budget": mined_point["budget"], "entries": result.counts["added"], "text": text_name,
                         "projected": point["chars_per_token"], "real": round(real, 4),
                         "error": round(point["chars_per_token"] / real - 1, 5), "analyze_s": round(analyze_s, 1)})
            print(rows[-1], flush=True)
    return rows


def render(rows: list[dict], command: str) -> str:
    lines = [
        "## analyze's projection vs the real extended tokenizer",
        "",
        f"Command: `{command}`. Machine: {MACHINE}.",
        "Mined: medical-zh/dialogues.csv (all rows). Held-out: sft/medical_sft_1K_format.jsonl answers and",
        "medical-zh/medical_corpus.txt, given to analyze as `--heldout`. Real: `vocabx extend BASE --terms ANALYSIS_DIR",
        "--budget N` (the written plan.tsv), then the text re-tokenized. error = projected / real - 1; goal: within 1%.",
        "",
        "| tokenizer | budget | entries added | text | projected chars/token | real chars/token | error |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['tokenizer']} | {r['budget']:,} | {r['entries']:,} | {r['text']} | {r['projected']:.4f} | "
                     f"{r['real']:.4f} | {r['error']:+.3%} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer", action="append", default=None)
    parser.add_argument("--budgets", type=int, nargs="+", default=[1000, 2000, 5000, 10000, 20000, 50000])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "projection.md"))
    args = parser.parse_args()
    tokenizers = args.tokenizer or ["smollm2", str(LLAMA)]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for tok in tokenizers:
            rows += run(tok, args.budgets, Path(tmp))
    command = "python bench/bench_projection.py " + " ".join(sys.argv[1:])
    Path(args.out).write_text(render(rows, command), encoding="utf-8")
    print(render(rows, command))


if __name__ == "__main__":
    main()
