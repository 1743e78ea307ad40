"""Token-efficiency benchmark: tokenizers x corpora -> chars/token, NSL, tokens/word, context gain, throughput,
round trip; rendered as a terminal table, bench.json, bench.md and PNG charts.

| module | owns |
|---|---|
| api | `BenchConfig`, `bench()` (load, read, measure, write), `bench_samples()` for texts in memory |
| metrics | `CorpusSample` and the per-pair counts and ratios (`PairMetrics`) |
| throughput | encode speed, single-threaded and batched, best of N |
| words | words for tokens per word, with analyze's segmenter (jieba for Chinese corpora, Unicode words otherwise) |
| labels | `NAME=SPEC` labels, made unique |
| result | `BenchResult` (bench.json) and `merge_eval` for model-level columns |
| report, charts, writer | terminal and Markdown tables, PNG charts, the atomic output directory |
"""

from vocabx.bench.api import BenchConfig, bench, bench_samples, load_tokenizers
from vocabx.bench.metrics import CorpusSample, PairMetrics
from vocabx.bench.report import render_markdown, render_table
from vocabx.bench.result import BenchResult, merge_eval

__all__ = [
    "BenchConfig",
    "BenchResult",
    "CorpusSample",
    "PairMetrics",
    "bench",
    "bench_samples",
    "load_tokenizers",
    "merge_eval",
    "render_markdown",
    "render_table",
]
