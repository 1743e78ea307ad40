"""Domain relevance learned from a small domain sample against a general reference. `NgramScorer` is vocabx's own:
the log-odds ratio with an informative Dirichlet prior that `analyze` uses for domain specificity
(`vocabx.analyze.stats.log_odds`), over hashed character 2- and 3-grams, keeping only n-grams whose z-score is
significant; a document scores the mean weight of its n-grams. `FastTextScorer` (fasttext_scorer.py) is the real
classifier it is measured against; both are fitted and calibrated the same way (calibrate.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from vocabx.analyze.stats import log_odds
from vocabx.select.textbatch import CLASS, TextBatch

NGRAMS = (2, 3)  # Chinese words are mostly 2-3 characters; English gets sub-word pieces, which is enough
TABLE_BITS = 22  # 4M buckets: hash collisions stay rare for a few million distinct n-grams (16 MB of float32)
# n-grams whose log-odds is not significant (|z| <= 1.96, 5 %) weigh 0: with a domain sample of a few hundred
# documents, most n-grams are seen once or never, and their noisy weights otherwise drown the telling ones
# (measured on the bench pool: best precision = recall 0.86 with every n-gram, 0.95 with significant ones).
MIN_Z = 1.96


class Scorer(Protocol):
    """A relevance model: fitted once, then scores batches of documents (higher: more domain-like)."""

    name: str

    def score(self, batch: TextBatch) -> np.ndarray: ...


class Learner(Protocol):
    """Fits a `Scorer` from domain and reference texts (the same learner is fitted several times by calibration)."""

    name: str

    def fit(self, domain: Sequence[str], reference: Sequence[str]) -> Scorer: ...


def normalized_keep(batch: TextBatch) -> np.ndarray:
    """The characters that carry content (not spaces, punctuation or symbols): what n-grams are taken over."""
    classes = batch.classes
    return (classes != CLASS["space"]) & (classes != CLASS["punct"]) & (classes != CLASS["symbol"])


def ngram_counts(texts: Sequence[str], bits: int = TABLE_BITS) -> tuple[np.ndarray, np.ndarray]:
    """(buckets, counts): the hashed 2- and 3-gram buckets of `texts` that occur (ascending) and how often (ASCII
    case folded, content characters only). Sparse, since a domain sample fills a few thousand of the 4M buckets
    and calibration counts it seven times: a dense table per count cost more than the counting."""
    parts = []
    for start in range(0, len(texts), 1024):
        batch = TextBatch(list(texts[start:start + 1024]))
        keep = normalized_keep(batch)
        for n in NGRAMS:
            hashes, _ = batch.ngram_hashes(n, keep, fold_case=True)
            parts.append((hashes >> np.uint64(64 - bits)).astype(np.int64))
    buckets = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    if buckets.size * 8 < 1 << bits:  # few n-grams: sorting them is cheaper than a table of every bucket
        found, counts = np.unique(buckets, return_counts=True)
        return found, counts.astype(np.int64)
    table = np.bincount(buckets, minlength=1 << bits)
    found = np.flatnonzero(table)
    return found, table[found]


@dataclass
class NgramScorer:
    """Per-bucket log-odds weights; a document scores the mean weight of its n-grams."""

    weights: np.ndarray  # float32 [2**bits]
    bits: int = TABLE_BITS
    name: str = "ngram"

    @classmethod
    def from_counts(cls, y: tuple[np.ndarray, np.ndarray], r: tuple[np.ndarray, np.ndarray],
                    bits: int = TABLE_BITS) -> NgramScorer:
        """Weights from the domain sample's n-gram counts `y` against the reference's `r` (both as
        `ngram_counts` gives them); n-grams seen in neither, or not significantly skewed, weigh 0."""
        mark = np.zeros(1 << bits, dtype=bool)  # log-odds only where there is evidence (a few % of the buckets)
        mark[y[0]] = True
        mark[r[0]] = True
        seen = np.flatnonzero(mark)
        ys, rs = np.zeros(seen.size), np.zeros(seen.size)
        ys[np.searchsorted(seen, y[0])] = y[1]
        rs[np.searchsorted(seen, r[0])] = r[1]
        delta, z = log_odds(ys, float(y[1].sum()), rs, float(r[1].sum()))
        weights = np.zeros(1 << bits, dtype=np.float32)
        weights[seen] = np.where(np.abs(z) > MIN_Z, delta, 0.0)
        return cls(weights, bits)

    def score(self, batch: TextBatch) -> np.ndarray:
        keep = normalized_keep(batch)
        total = np.zeros(len(batch))
        count = np.zeros(len(batch))
        for n in NGRAMS:
            hashes, doc = batch.ngram_hashes(n, keep, fold_case=True)
            w = self.weights[(hashes >> np.uint64(64 - self.bits)).astype(np.int64)]
            total += np.bincount(doc, weights=w, minlength=len(batch))
            count += np.bincount(doc, minlength=len(batch))
        return np.where(count > 0, total / np.maximum(count, 1), -np.inf)


@dataclass
class NgramLearner:
    """Fits `NgramScorer`s; n-gram counts of a text list are kept while the list is alive (calibration refits
    against the same reference several times).

    >>> s = NgramLearner(bits=12).fit(["高血压患者头痛"] * 2000, ["今天股市上涨"] * 2000)
    >>> [round(float(x), 1) for x in s.score(TextBatch(["高血压头痛", "股市上涨"]))]
    [1.2, -2.5]
    """

    bits: int = TABLE_BITS
    name: str = "ngram"
    _cache: dict[int, tuple[Sequence[str], tuple[np.ndarray, np.ndarray]]] = field(
        default_factory=dict, repr=False)

    def counts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        key = id(texts)
        if key not in self._cache or self._cache[key][0] is not texts:
            self._cache[key] = (texts, ngram_counts(texts, self.bits))
        return self._cache[key][1]

    def fit(self, domain: Sequence[str], reference: Sequence[str]) -> NgramScorer:
        return NgramScorer.from_counts(ngram_counts(domain, self.bits), self.counts(reference), self.bits)
