"""Encode throughput, measured the same way for every tokenizer so that the figures compare.

Two modes, both reported in MB/s of UTF-8 input, best of `repeats` runs (the least disturbed by other work):
- single: one document at a time through `encode`, one thread for every backend;
- batch: `encode_batch` over chunks of documents, each backend's own parallel encoder on all cores
  (Rust tokenizers: rayon with `RAYON_NUM_THREADS` threads, default all cores; SentencePiece: `num_threads=-1`).
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vocabx.adapters.base import TokenizerAdapter

BATCH_DOCS = 1024  # documents per encode_batch call: enough for every core, bounded memory for the ids

MODES = (
    "single: one document at a time through encode(), one thread, best of N runs; "
    "batch: encode_batch() over chunks of 1024 documents with the backend's parallel encoder on all cores "
    "(tokenizers/rayon and SentencePiece num_threads=-1), best of N runs"
)


@dataclass(frozen=True)
class Throughput:
    """Best-of-N encode speeds in MB/s (1 MB = 10^6 bytes of UTF-8 input)."""

    single_mb_s: float
    batch_mb_s: float
    repeats: int


def threads_used() -> dict[str, object]:
    """What the batch mode runs on, for the report: core count and the thread settings in the environment."""
    # The load average says whether other work shared the cores: absolute MB/s then mean little, ratios still do.
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "cpu_count": os.cpu_count(),
        "load_average_1min": load,
        "RAYON_NUM_THREADS": os.environ.get("RAYON_NUM_THREADS"),
        "TOKENIZERS_PARALLELISM": os.environ.get("TOKENIZERS_PARALLELISM"),
    }


def _best_seconds(run: Callable[[], None], repeats: int) -> float:
    """Fastest wall time of `repeats` calls; garbage collection is paused so it does not land in one run only."""
    best = float("inf")
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
    finally:
        if enabled:
            gc.enable()
    return best


def measure_throughput(adapter: TokenizerAdapter, texts: Sequence[str], n_bytes: int, repeats: int) -> Throughput:
    """Time encoding `texts` (`n_bytes` UTF-8 bytes in all) in both modes."""
    encode, encode_batch = adapter.encode, adapter.encode_batch

    def single() -> None:
        for text in texts:
            encode(text)

    def batch() -> None:
        for start in range(0, len(texts), BATCH_DOCS):
            encode_batch(texts[start : start + BATCH_DOCS])

    encode_batch(texts[:BATCH_DOCS])  # warm-up: first-call costs (thread pool start, caches) are not throughput
    mb = n_bytes / 1e6
    return Throughput(
        single_mb_s=mb / max(_best_seconds(single, repeats), 1e-9),
        batch_mb_s=mb / max(_best_seconds(batch, repeats), 1e-9),
        repeats=repeats,
    )
