"""Pass one over the corpus as map/reduce: each shard (a batch of documents) is segmented, its Han n-grams are
counted and its base tokens counted, in worker processes; shard results merge exactly (`ShardResult.merge`)."""

from __future__ import annotations

import logging
import multiprocessing as mp
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from vocabx.analyze.ngrams import NgramCounts, count_ngrams
from vocabx.analyze.segment import HAN_RUN, is_han_text, segment

log = logging.getLogger(__name__)


@dataclass
class ShardResult:
    """What pass one learns from some documents. `runs` holds the distinct Han runs and their counts only until
    `run_chars` reaches the sampling cap; `run_han_chars` is the Han characters those runs cover."""

    ngrams: NgramCounts = field(default_factory=NgramCounts)
    words: Counter[str] = field(default_factory=Counter)
    word_docs: Counter[str] = field(default_factory=Counter)
    runs: Counter[str] = field(default_factory=Counter)
    run_han_chars: int = 0
    documents: int = 0
    chars: int = 0
    bytes: int = 0
    tokens: int = 0
    flagged_tokens: int = 0

    def merge(self, other: ShardResult, run_cap: int) -> ShardResult:
        self.ngrams = self.ngrams.merge(other.ngrams)
        self.words.update(other.words)
        self.word_docs.update(other.word_docs)
        if self.run_han_chars < run_cap:  # keep whole shards only, so the sample is a set of documents
            self.runs.update(other.runs)
            self.run_han_chars += other.run_han_chars
        for name in ("documents", "chars", "bytes", "tokens", "flagged_tokens"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


@dataclass(frozen=True)
class ScanJob:
    """What a worker needs; the tokenizer reaches workers through `_WORKER` (inherited at fork)."""

    lang: str
    max_n: int
    prune_below: int
    tokenize: bool


_WORKER: dict[str, object] = {}


def scan_shard(texts: list[str], job: ScanJob) -> ShardResult:
    """Map step: everything pass one needs from one batch of documents."""
    result = ShardResult(documents=len(texts), chars=sum(map(len, texts)))
    result.bytes = sum(len(t.encode("utf-8")) for t in texts)
    for text in texts:
        words = segment(text, job.lang)
        result.words.update(words)
        result.word_docs.update({w for w in words if not is_han_text(w)})
        runs = HAN_RUN.findall(text)
        result.runs.update(runs)
        result.run_han_chars += sum(map(len, runs))
    result.ngrams = count_ngrams(texts, job.max_n, job.prune_below)
    if job.tokenize:
        adapter, flags = _WORKER["adapter"], _WORKER["flags"]
        ids = adapter.encode_batch(texts)  # type: ignore[attr-defined]
        result.tokens = sum(map(len, ids))
        flat = np.fromiter((i for seq in ids for i in seq), dtype=np.int64, count=result.tokens)
        result.flagged_tokens = int(flags[flat].sum())  # type: ignore[index]
    return result


def run_scan(batches: Iterable[list[str]], job: ScanJob, workers: int, run_cap: int, adapter: object = None,
             flags: np.ndarray | None = None, progress: bool = False) -> ShardResult:
    """Reduce step: merge shard results as they arrive, with at most 2 * workers shards in flight (bounded memory)."""
    _WORKER.update(adapter=adapter, flags=flags)
    total = ShardResult()
    bar = _progress_bar(progress)
    for shard in _map(batches, job, workers):
        total.merge(shard, run_cap)
        if bar is not None:
            bar.update(shard.chars)
    if bar is not None:
        bar.close()
    return total


def _map(batches: Iterable[list[str]], job: ScanJob, workers: int) -> Iterator[ShardResult]:
    if workers <= 1:
        for texts in batches:
            yield scan_shard(texts, job)
        return
    # fork: workers inherit the loaded tokenizer and jieba dictionary instead of loading them again.
    ctx = mp.get_context("fork")
    with ctx.Pool(workers) as pool:
        pending = []
        for texts in batches:
            pending.append(pool.apply_async(scan_shard, (texts, job)))
            while len(pending) >= 2 * workers:
                yield pending.pop(0).get()
        for item in pending:
            yield item.get()


def _progress_bar(progress: bool):
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(unit="char", unit_scale=True, desc="analyze: scanning", leave=False)
