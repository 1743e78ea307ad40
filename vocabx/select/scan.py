"""The per-batch work of a selection, run in worker processes: quality rules, then, for the documents that pass
them, the relevance score and exact-duplicate key, and for relevant ones the costly quality rules and the MinHash
signature with its LSH band keys. `scan_chunks` hands spill chunks to forked workers with a bounded number in
flight, so the pool is streamed, never held; the results come back in pool order, a chunk's as columns, with the
texts the main process needs (relevant documents, replay candidates, a few examples).
"""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from vocabx.select.dedup import MinHasher, exact_key
from vocabx.select.inputs import Chunk, read_chunk
from vocabx.select.quality import QualityRules
from vocabx.select.relevance import Scorer
from vocabx.select.textbatch import TextBatch, class_table


@dataclass
class ChunkVerdicts:
    """What a worker found out about the documents of one chunk, column by column, so that one chunk is one
    small pickle and the main process counts the documents that broke a rule without a Python step each."""

    reason: list[str | None]  # the quality rule each broke, or None
    costly: dict[int, str | None]  # the costly rule (checked only for relevant documents), by row
    score: np.ndarray  # relevance (float64; -inf without content characters, NaN where a rule was broken)
    key: np.ndarray  # uint64 exact-duplicate key (0 where a rule was broken: never looked up)
    chars: np.ndarray  # int64
    sources: list[str]
    texts: dict[int, str]  # only where the main process may need them: relevant, replay candidates, examples
    sketches: dict[int, tuple[np.ndarray, np.ndarray]]  # MinHash and LSH band keys: relevant, passing every rule


@dataclass
class ScanJob:
    """The frozen state every worker needs: rules, fitted scorer and threshold, the MinHasher, and which texts
    to send back (`keep_general` for the replay draw, `examples` per reason for the report)."""

    rules: QualityRules
    scorer: Scorer
    threshold: float
    hasher: MinHasher | None
    keep_general: bool = False
    examples: int = 3

    def __call__(self, chunk: Chunk) -> ChunkVerdicts:
        texts, sources = read_chunk(chunk)
        batch = TextBatch(texts)
        reasons = self.rules.check(batch)
        passing = [i for i, r in enumerate(reasons) if r is None]
        scores = np.full(len(texts), np.nan)
        keys = np.zeros(len(texts), dtype=np.uint64)
        if passing:
            scores[passing] = self.scorer.score(TextBatch([texts[i] for i in passing]))
            keys[passing] = [exact_key(texts[i]) for i in passing]
        relevant = [i for i in passing if scores[i] >= self.threshold]
        sub = TextBatch([texts[i] for i in relevant])  # the costly rules and signatures: relevant documents only
        costly = dict(zip(relevant, self.rules.check_costly(sub)))
        sketches = {}
        if self.hasher is not None:
            clean = [k for k, i in enumerate(relevant) if costly[i] is None]
            sketches = {relevant[k]: sketch for k, sketch in self.hasher.sketch(sub, clean).items()}
        shown: Counter[str] = Counter()
        sent = {}
        for i, text in enumerate(texts):
            general = reasons[i] is None and scores[i] < self.threshold
            label = reasons[i] or costly.get(i) or ("general" if general else "relevant")
            shown[label] += 1
            if label == "relevant" or (general and self.keep_general) or shown[label] <= self.examples:
                sent[i] = text
        return ChunkVerdicts(reasons, costly, scores, keys, batch.lengths, sources, sent, sketches)


_JOB: ScanJob | None = None


def _run(chunk: Chunk) -> ChunkVerdicts:
    assert _JOB is not None
    return _JOB(chunk)


def scan_chunks(chunks: Iterable[Chunk], job: ScanJob, workers: int) -> Iterator[ChunkVerdicts]:
    """`job` over every chunk, in order, with at most 2 * workers chunks in flight (forked workers inherit the
    job, so the fitted model is not pickled per task)."""
    global _JOB
    class_table()  # built once here, inherited by the forked workers
    if workers <= 1:
        yield from map(job, chunks)
        return
    _JOB = job
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            pending: deque = deque()
            for chunk in chunks:
                pending.append(pool.apply_async(_run, (chunk,)))
                while len(pending) >= 2 * workers:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()
    finally:
        _JOB = None
