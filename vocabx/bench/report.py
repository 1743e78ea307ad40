"""Rendering a `BenchResult`: a plain-text table per corpus for the terminal and a Markdown table per corpus.

Both use one column list, so the terminal and bench.md never disagree; merged eval columns come last. The terminal
shows the columns that carry a `short` header (about 105 characters wide), bench.md and bench.json every column.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from vocabx.bench.metrics import PairMetrics
from vocabx.bench.result import BenchResult, CorpusEntry


@dataclass(frozen=True)
class Column:
    """A report column: header, how to read the value from a row, how to print it, which side to align, and its
    header in the terminal table (None: bench.md and bench.json only)."""

    header: str
    value: Callable[[PairMetrics], Any]
    fmt: str = "{:.3f}"
    right: bool = True
    short: str | None = None


TERMINAL_WIDTH = 110  # wrap the notes under the terminal tables here
# eval.json figures the terminal table shows, under a shorter header; the others stay in bench.md and bench.json
TERMINAL_EVAL = {"bits_per_char": "bits/char"}


def columns(result: BenchResult) -> list[Column]:
    """The columns of this result's tables, the reference-relative ones naming the reference and window size."""
    family = {t.label: t.family for t in result.tokenizers}
    vocab = {t.label: t.vocab_size for t in result.tokenizers}
    cols = [
        Column("tokenizer", lambda r: r.tokenizer, "{}", right=False, short="tokenizer"),
        Column("family", lambda r: family.get(r.tokenizer, "?"), "{}", right=False),
        Column("vocab", lambda r: vocab.get(r.tokenizer), "{:,}", short="vocab"),
        Column("tokens", lambda r: r.tokens, "{:,}", short="tokens"),
        Column("chars/tok", lambda r: r.chars_per_token, short="chars/tok"),
        Column("bytes/tok", lambda r: r.bytes_per_token),
        Column("tok/char", lambda r: r.tokens_per_char),
        Column("tok/word", lambda r: r.tokens_per_word, short="tok/word"),
        Column(f"NSL vs {result.reference}", lambda r: r.normalized_length, short="NSL"),
        Column("context gain", lambda r: r.context_gain, "{:.2f}x", short="context gain"),
        Column(f"chars/{result.context}-tok window", lambda r: r.chars_per_window, "{:,.0f}"),
        Column("MB/s 1 thread", lambda r: r.single_mb_s, "{:.2f}"),
        Column("MB/s batch", lambda r: r.batch_mb_s, "{:.2f}", short="MB/s batch"),
        Column("round trip", lambda r: r.roundtrip_share, "{:.1%}", short="round trip"),
    ]
    for name in result.extra_columns:
        cols.append(Column(name, partial(_extra_value, name), "{}" if name.endswith("_id") else "{:.4g}",
                           short=TERMINAL_EVAL.get(name)))
    return cols


def _extra_value(name: str, row: PairMetrics) -> Any:
    return row.extra.get(name)


def cell(column: Column, row: PairMetrics) -> str:
    """One formatted cell; missing values (no timing run, zero denominators, unmerged eval) print as '-'."""
    value = column.value(row)
    if value is None:
        return "-"
    try:
        return column.fmt.format(value)
    except (ValueError, TypeError):
        return str(value)


def corpus_heading(corpus: CorpusEntry) -> str:
    """`medical: 765 docs, 512,345 chars, 1.43 MB, 201,234 words (jieba-kernel), 91% Han`."""
    return (
        f"{corpus.label}: {corpus.documents:,} docs, {corpus.chars:,} chars, {corpus.bytes / 1e6:.2f} MB, "
        f"{corpus.words:,} words{f' ({corpus.segmenter})' if corpus.segmenter else ''}, {corpus.han_share:.0%} Han"
    )


def _rows_of(result: BenchResult, corpus: str) -> list[PairMetrics]:
    return [r for r in result.rows if r.corpus == corpus]


def _aligned(cells: list[str], widths: list[int], cols: list[Column]) -> str:
    parts = (v.rjust(w) if c.right else v.ljust(w) for v, w, c in zip(cells, widths, cols))
    return "  ".join(parts).rstrip()


def render_table(result: BenchResult) -> str:
    """Fixed-width text tables, one per corpus, for the terminal: the columns with a short header, then notes on
    the reference, the tokenizer families and the columns left to bench.md / --json."""
    every = columns(result)
    cols = [c for c in every if c.short]
    blocks = []
    for corpus in result.corpora:
        body = [[cell(c, r) for c in cols] for r in _rows_of(result, corpus.label)]
        widths = [max(len(c.short or ""), *(len(line[i]) for line in body)) for i, c in enumerate(cols)]
        lines = [_aligned(cells, widths, cols) for cells in [[c.short or "" for c in cols], *body]]
        blocks.append("\n".join([corpus_heading(corpus), *lines]))
    return "\n\n".join(blocks) + "\n\n" + "\n".join(_table_notes(result, every))


def _table_notes(result: BenchResult, every: list[Column]) -> list[str]:
    """What the terminal table's short headers mean, and what it leaves out."""
    ref = result.reference
    repeats = result.throughput.get("repeats")
    speed = f"MB/s batch: all cores, best of {repeats}" if repeats else "MB/s: not measured (--repeats 0)"
    left_out = [c.header for c in every if not c.short]
    notes = [
        f"NSL: tokens / {ref}'s; context gain: chars per token / {ref}'s; {speed}.",
        "Families: " + ", ".join(f"{t.label} {t.family}" for t in result.tokenizers) + ".",
        f"More columns in --json and bench.md (--out): {', '.join(left_out)}.",
    ]
    return [line for note in notes for line in textwrap.wrap(note, TERMINAL_WIDTH, subsequent_indent="  ")]


def _machine(throughput: dict[str, Any]) -> str:
    """`2-core CPU, 24 GB (x86_64), load average 1.4 at start`: a load near the core count means shared cores."""
    text = str(throughput.get("machine", "unknown machine"))
    load = throughput.get("load_average_1min")
    return text + (f", load average {load:.1f} at start" if isinstance(load, (int, float)) else "")


def render_markdown(result: BenchResult, command: str | None = None) -> str:
    """bench.md: how the figures were measured, then one Markdown table per corpus."""
    cols = columns(result)
    lines = ["# Tokenizer benchmark", ""]
    if command:
        lines += ["```", command, "```", ""]
    lines += [
        (
            f"Reference: `{result.reference}` (NSL = tokens / reference tokens; context gain = chars per token / "
            f"reference chars per token). Context window: {result.context} tokens. Tokens are counted per document "
            "without special tokens."
        ),
        (
            f"Words: {result.word_splitter}. Throughput: {result.throughput.get('modes', '')}; "
            f"machine: {_machine(result.throughput)}."
        ),
        "",
    ]
    for corpus in result.corpora:
        lines += [f"## {corpus_heading(corpus)}", "", f"Spec: `{corpus.spec}`", ""]
        lines.append("| " + " | ".join(c.header for c in cols) + " |")
        lines.append("|" + "|".join("---:" if c.right else "---" for c in cols) + "|")
        for r in _rows_of(result, corpus.label):
            lines.append("| " + " | ".join(cell(c, r).replace("|", "\\|") for c in cols) + " |")
        lines.append("")
    failures = [r for r in result.rows if r.roundtrip_first_failure]
    if failures:
        lines += ["Round-trip failures (first failing document per pair):", ""]
        lines += [f"- {r.tokenizer} on {r.corpus}: {r.documents - r.roundtrip_ok} of {r.documents}, first "
                  f"`{r.roundtrip_first_failure}`" for r in failures]
        lines.append("")
    return "\n".join(lines)
