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


def ngram_counts(texts: Sequence[str], bits: int = TABLE_BITS) -> np.ndarray:
    """Counts of the hashed 2- and 3-grams of `texts` (ASCII case folded, content characters only)."""
    counts = np.zeros(1 << bits, dtype=np.int64)
    for start in range(0, len(texts), 1024):
        batch = TextBatch(list(texts[start:start + 1024]))
        keep = normalized_keep(batch)
        for n in NGRAMS:
            hashes, _ = batch.ngram_hashes(n, keep, fold_case=True)
            counts += np.bincount((hashes >> np.uint64(64 - bits)).astype(np.int64), minlength=1 << bits)
    return counts


@dataclass
class NgramScorer:
    """Per-bucket log-odds weights; a document scores the mean weight of its n-grams."""

    weights: np.ndarray  # float32 [2**bits]
    bits: int = TABLE_BITS
    name: str = "ngram"

    @classmethod
    def from_counts(cls, y: np.ndarray, r: np.ndarray, bits: int = TABLE_BITS) -> NgramScorer:
        """Weights from the domain sample's n-gram counts `y` against the reference's `r` (n-grams seen in
        neither, or not significantly skewed, weigh 0)."""
        seen = np.flatnonzero((y + r) > 0)  # log-odds only where there is evidence (a few % of the buckets)
        delta, z = log_odds(y[seen], float(y.sum()), r[seen], float(r.sum()))
        weights = np.zeros(len(y), dtype=np.float32)
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
    _cache: dict[int, tuple[Sequence[str], np.ndarray]] = field(default_factory=dict, repr=False)

    def counts(self, texts: Sequence[str]) -> np.ndarray:
        key = id(texts)
        if key not in self._cache or self._cache[key][0] is not texts:
            self._cache[key] = (texts, ngram_counts(texts, self.bits))
        return self._cache[key][1]

    def fit(self, domain: Sequence[str], reference: Sequence[str]) -> NgramScorer:
        return NgramScorer.from_counts(ngram_counts(domain, self.bits), self.counts(reference), self.bits)
