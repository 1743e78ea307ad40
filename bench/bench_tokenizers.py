"""Token efficiency of common LLM tokenizers on Chinese medical, Chinese news and English text, via `vocabx.bench`.

Baseline: SmolLM2's byte-level BPE (the model vocabx extends by default); every ratio (NSL, context gain) is
against it, measured in the same run. Writes `bench/results/tokenizers.md`.

    python bench/bench_tokenizers.py                       # 300k characters per corpus, best of 3 timings
    python bench/bench_tokenizers.py --max-chars 100000 --repeats 1
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import shlex
import sys
import time
from pathlib import Path

from checks import require, same_counts

from vocabx.bench import CorpusSample, bench_samples, load_tokenizers, render_markdown, render_table
from vocabx.bench.api import machine
from vocabx.corpus import CorpusConfig, open_corpus

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOCABX_SHARED_DATA") or REPO.parent / "shared" / "data")
RESULTS = REPO / "bench" / "results" / "tokenizers.md"

TOKENIZERS = (
    "smollm2",
    f"llama2={SHARED / 'tokenizers/llama2/tokenizer.model'}",
    "qwen2",
    "deepseek-v3",
    "mistral-v3",
    f"gpt2={SHARED / 'tokenizers/gguf/ggml-vocab-gpt-2.gguf'}",
    f"bert-zh={SHARED / 'tokenizers/bert-zh/vocab.txt'}",
)
# label -> (path, text field) for the corpora read through the corpus reader
CORPORA = {
    "news-zh (tnews)": (SHARED / "corpora/general-zh/tnews_unlabeled.json", "sentence"),
    "wiki-en": (SHARED / "corpora/general-en/wiki_demo.txt", None),
    "c4-en": (SHARED / "corpora/general-en/c4_demo.jsonl", "text"),
}
MEDICAL = SHARED / "corpora/medical-zh/dialogues.csv"
# The mission statement's figures, checked against what is measured on the Chinese corpora.
CLAIMED_TOKENS_PER_CHAR = {"smollm2": 2.0, "llama2": 2.0, "qwen2": 0.65}


def medical_holdout(max_chars: int) -> CorpusSample:
    """The project's medical hold-out: rows with index % 10 == 0 of dialogues.csv, title + ask + answer."""
    texts, sources, size = [], [], 0
    with open(MEDICAL, encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            if i % 10 or size >= max_chars:
                continue
            text = "\n".join((row["title"], row["ask"], row["answer"]))[: max_chars - size]
            texts.append(text)
            sources.append(f"dialogues.csv row {i}")
            size += len(text)
    return CorpusSample.from_texts("medical-zh (hold-out)", f"{MEDICAL} rows i % 10 == 0", texts, sources)


def read_sample(label: str, path: Path, field: str | None, max_chars: int) -> CorpusSample:
    corpus = open_corpus(str(path), CorpusConfig(text_field=field, max_chars=max_chars))
    docs = list(corpus)
    return CorpusSample.from_texts(label, str(path), [d.text for d in docs], [d.source for d in docs])


def check(result, families: dict[str, str]) -> None:
    """Before reporting: every tokenizer read the same documents and characters of each corpus, and every
    byte-level BPE tokenizer (lossless by construction) round-trips every document."""
    for corpus in result.corpora:
        rows = [r for r in result.rows if r.corpus == corpus.label]
        same_counts({r.tokenizer: (r.documents, r.chars) for r in rows}, f"documents/characters read of {corpus.label}")
        for r in rows:
            if families[r.tokenizer] == "bytelevel-bpe":
                require(r.roundtrip_ok == r.documents,
                        f"{r.tokenizer} round-trips {r.roundtrip_ok}/{r.documents} documents of {corpus.label}")


def claims(result) -> list[str]:
    """Lines comparing the measured tokens per character on the Chinese corpora with the mission statement."""
    lines = ["## Check: tokens per Chinese character", "",
             "| tokenizer | claimed | " + " | ".join(c.label for c in result.corpora if c.han_share > 0.5) + " |",
             "|---|---:|" + "---:|" * sum(c.han_share > 0.5 for c in result.corpora)]
    for name, claimed in CLAIMED_TOKENS_PER_CHAR.items():
        cells = [f"{result.row(name, c.label).tokens_per_char:.2f}" for c in result.corpora if c.han_share > 0.5]
        lines.append(f"| {name} | ~{claimed} | " + " | ".join(cells) + " |")
    shares = ", ".join(f"{c.label} {c.han_share:.0%}" for c in result.corpora if c.han_share > 0.5)
    lines += [
        "",
        (
            f"Tokens per character over whole documents (Han share: {shares}; the rest is punctuation, digits "
            "and Latin letters), each document encoded on its own without special tokens."
        ),
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-chars", type=int, default=300_000, help="characters per corpus (default 300,000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per pair and mode, best counts")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not MEDICAL.is_file():
        sys.exit(f"no shared data at {SHARED}; set VOCABX_SHARED_DATA")

    start = time.perf_counter()
    tokenizers = load_tokenizers(TOKENIZERS)
    samples = [medical_holdout(args.max_chars)]
    samples += [read_sample(label, path, field, args.max_chars) for label, (path, field) in CORPORA.items()]
    result = bench_samples(
        [(label, adapter) for label, _, adapter in tokenizers], samples, reference="smollm2",
        repeats=args.repeats, specs=[spec for _, spec, _ in tokenizers],
    )
    elapsed = time.perf_counter() - start
    check(result, {label: adapter.family for label, _, adapter in tokenizers})
    print(render_table(result))

    command = shlex.join(["python", "bench/bench_tokenizers.py", *sys.argv[1:]])
    body = render_markdown(result, command).replace("# Tokenizer benchmark", "# Tokenizers: token efficiency", 1)
    note = (f"Machine: {machine()}, shared with other work (load average "
            f"{result.throughput['load_average_1min']:.1f} at start): absolute MB/s are indicative, ratios measured "
            f"side by side count. Whole run: {elapsed:.0f} s.\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(body + "\n" + note + "\n" + "\n".join(claims(result)), encoding="utf-8")
    print(f"\nwrote {args.out} ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
