"""The per-batch work of a selection, run in worker processes: quality rules, relevance score, exact-duplicate key
and, for relevant documents, the costly quality rules and the MinHash signature. `scan_chunks` hands spill chunks
to forked workers with a bounded number in flight, so the pool is streamed, never held; the results come back in
pool order, with the texts the main process needs (relevant documents, replay candidates, a few examples).
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
class Verdict:
    """What a worker found out about one document."""

    reason: str | None  # the quality rule it broke, or None
    costly_reason: str | None  # the costly quality rule it broke (checked only where score >= threshold)
    score: float  # relevance (-inf where it has no content character)
    key: bytes  # exact-duplicate key
    signature: np.ndarray | None  # MinHash, only for relevant documents that pass every rule (with dedup on)
    chars: int
    source: str
    text: str | None  # only where the main process may need it: relevant, replay candidates, examples


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

    def __call__(self, chunk: Chunk) -> list[Verdict]:
        texts, sources = read_chunk(chunk)
        batch = TextBatch(texts)
        reasons = self.rules.check(batch)
        scores = self.scorer.score(batch)
        relevant = [i for i, (r, s) in enumerate(zip(reasons, scores)) if r is None and s >= self.threshold]
        sub = TextBatch([texts[i] for i in relevant])  # the costly rules and signatures: relevant documents only
        costly = dict(zip(relevant, self.rules.check_costly(sub)))
        signatures = {}
        if self.hasher is not None:
            passing = [k for k, i in enumerate(relevant) if costly[i] is None]
            signatures = {relevant[k]: sig for k, sig in self.hasher.signatures(sub, passing).items()}
        shown: Counter[str] = Counter()
        out = []
        for i, text in enumerate(texts):
            general = reasons[i] is None and scores[i] < self.threshold
            label = reasons[i] or costly.get(i) or ("general" if general else "relevant")
            shown[label] += 1
            send = label == "relevant" or (general and self.keep_general) or shown[label] <= self.examples
            out.append(Verdict(reasons[i], costly.get(i), float(scores[i]), exact_key(text), signatures.get(i),
                               len(text), sources[i], text if send else None))
        return out


_JOB: ScanJob | None = None


def _run(chunk: Chunk) -> list[Verdict]:
    assert _JOB is not None
    return _JOB(chunk)


def scan_chunks(chunks: Iterable[Chunk], job: ScanJob, workers: int) -> Iterator[list[Verdict]]:
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
