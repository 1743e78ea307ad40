"""Fold the per-benchmark sections in bench/results/*.md into bench/RESULTS.md, in a fixed order.

Each benchmark script writes its own section (figures, the exact command, the machine); this script only
concatenates them under one header, so RESULTS.md never holds a figure that no script produced.

    python bench/collect_results.py
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = [
    "tokenizers", "analyze", "analyze_shape", "analyze_speed", "analyze_speed_2", "analyze_kernels100", "analyze_numpy",
    "analyze_pretokenizer", "extend_bytelevel",
    "extend_sentencepiece", "model_init", "adapt", "surgery", "train_overhead", "train_bf16", "eval", "export",
]
HEADER = """# vocabx benchmark results

Every figure below was produced by the script named in its section, against the baseline named there, in the
same run. Machine unless a section says otherwise: 2-core x86-64 CPU, 24 GB, no GPU, shared with other jobs
while measuring: absolute timings are noisy; ratios measured side by side in one run are what count.
Regenerate a section by running its command; then `python bench/collect_results.py`.

"""


def main() -> None:
    sections = {p.stem: p for p in sorted((HERE / "results").glob("*.md"))}
    names = [n for n in ORDER if n in sections] + sorted(set(sections) - set(ORDER))
    body = "\n\n".join(sections[n].read_text(encoding="utf-8").strip() for n in names)
    (HERE / "RESULTS.md").write_text(HEADER + body + "\n", encoding="utf-8")
    print(f"wrote {HERE / 'RESULTS.md'} from {len(names)} sections: {', '.join(names)}")


if __name__ == "__main__":
    main()
