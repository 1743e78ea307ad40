"""Exact and near-duplicate removal. Exact: a 64-bit hash of the text with whitespace runs collapsed. Near: MinHash
signatures over character 5-gram shingles of the content characters (punctuation, symbols and spaces left out, so
re-punctuated copies still match), banded into an LSH index; the first document of a group is kept.

The signatures are datasketch's (scheme affine32, seed 1: the MurmurHash3 finalizer, then `a * h + b` modulo
2^32, minimum over the shingles) computed for a whole batch at once in numpy, and the band index is one dict per
band; tests check both against datasketch's `MinHash` and `MinHashLSH`. Why not datasketch's objects: on the
bench pool (26.7 MB, `bench/bench_select.py`) one `MinHash` per document cost the workers about 1.4 CPU-seconds,
and the main process spent 1.2 s in `MinHashLSH` queries and inserts and 0.5 s importing scipy (cProfile, so
inflated), in a run of about 4 s; with this module the whole run takes 2.4 s.

Signatures and band keys are computed in the worker processes (`MinHasher.sketch`); the index lives in one
process (`Deduplicator`), which holds one small signature per kept document, never text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from vocabx.select.relevance import normalized_keep
from vocabx.select.textbatch import TextBatch, mix64

SHINGLE = 5  # characters per shingle: about two Chinese words, or one English word and a half
NUM_PERM = 128  # signature length: the Jaccard estimate's standard error is about 0.04 at 128
SEED = 1
LSH_SLACK = 0.2  # the LSH index looks for pairs this much less similar than the threshold; signatures decide
SLAB = 1 << 13  # shingles per permutation step: a slab x NUM_PERM uint32 table is 4 MB
_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)  # MurmurHash3's 32-bit finalizer
_MAX32 = np.uint32(0xFFFFFFFF)
_BAND_MULT = np.uint64(0x9E3779B97F4A7C15)


def exact_key(text: str) -> int:
    """64 bits identifying the text up to whitespace (BLAKE2b)."""
    return int.from_bytes(hashlib.blake2b(" ".join(text.split()).encode("utf-8"), digest_size=8).digest(), "little")


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finalizer on uint32 (multiplication wraps modulo 2^32, as intended)."""
    s1, m1, s2, m2, s3 = _FMIX32
    h = h ^ (h >> np.uint32(s1))
    h = h * np.uint32(m1)
    h = h ^ (h >> np.uint32(s2))
    h = h * np.uint32(m2)
    return h ^ (h >> np.uint32(s3))


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine32 permutations `h -> a * h + b (mod 2^32)` that datasketch draws for this seed (odd `a`)."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


@lru_cache(maxsize=16)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) that minimize the area of false positives below `threshold` plus that of false
    negatives above it, with equal weights: datasketch's rule, integrated on a fine grid instead of by scipy."""
    below, above = np.linspace(0.0, threshold, 2001), np.linspace(threshold, 1.0, 2001)
    best, best_error = (1, 1), float("inf")
    for bands in range(1, num_perm + 1):
        rows = np.arange(1, num_perm // bands + 1, dtype=np.float64)[:, None]
        fp = _area(1.0 - (1.0 - below ** rows) ** bands, below)
        fn = _area((1.0 - above ** rows) ** bands, above)
        k = int(np.argmin(fp + fn))
        if fp[k] + fn[k] < best_error:
            best, best_error = (bands, k + 1), float(fp[k] + fn[k])
    return best


def _area(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Trapezoid rule along the last axis (numpy 1.x has `trapz`, 2.x `trapezoid`)."""
    return ((y[..., 1:] + y[..., :-1]) * 0.5 * np.diff(x)).sum(axis=-1)


@dataclass
class MinHasher:
    """Signatures and LSH band keys for near-duplicate search at `threshold` (estimated Jaccard similarity)."""

    threshold: float = 0.7
    num_perm: int = NUM_PERM
    shingle: int = SHINGLE
    bands: int = field(init=False)
    rows: int = field(init=False)
    _a: np.ndarray = field(init=False, repr=False)
    _b: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.bands, self.rows = lsh_params(round(max(0.3, self.threshold - LSH_SLACK), 6), self.num_perm)
        self._a, self._b = permutations(self.num_perm, SEED)

    def signatures(self, batch: TextBatch, rows: list[int]) -> np.ndarray:
        """uint32[len(rows), num_perm]: the MinHash of each given row of the batch (all 2^32-1 without shingles)."""
        out = np.full((len(batch), self.num_perm), _MAX32, dtype=np.uint32)
        if rows:
            hashes, doc = batch.ngram_hashes(self.shingle, normalized_keep(batch), fold_case=True)
            wanted = np.zeros(len(batch), dtype=bool)
            wanted[rows] = True
            take = wanted[doc]
            order = np.argsort(doc[take], kind="stable")
            values = fmix32((hashes[take] >> np.uint64(32)).astype(np.uint32))[order]
            docs = doc[take][order]
            for start in range(0, values.size, SLAB):
                v, d = values[start:start + SLAB], docs[start:start + SLAB]
                heads = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
                lows = np.minimum.reduceat(v[:, None] * self._a + self._b, heads, axis=0)
                out[d[heads]] = np.minimum(out[d[heads]], lows)
        return out[rows]

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """uint64[n, bands]: one key per band of each signature (equal bands give equal keys)."""
        banded = signatures[:, : self.bands * self.rows].reshape(len(signatures), self.bands, self.rows)
        key = np.zeros((len(signatures), self.bands), dtype=np.uint64)
        for j in range(self.rows):  # polynomial hash of the band's values; wraps modulo 2^64
            key = key * _BAND_MULT + banded[:, :, j].astype(np.uint64)
        return mix64(key)

    def sketch(self, batch: TextBatch, rows: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """row -> (signature, band keys) for the given rows."""
        signatures = self.signatures(batch, rows)
        keys = self.band_keys(signatures)
        return {row: (signatures[k], keys[k]) for k, row in enumerate(rows)}


class Deduplicator:
    """Keeps the first of each group of exact or near duplicates.

    The LSH bands are chosen for a lower similarity than the threshold (LSH_SLACK below it), so that pairs just
    above the threshold are found nearly always (at 0.7 with 14 bands of 9 rows, a pair at 0.8 was missed 13 % of
    the time); each candidate is then kept only if its signatures agree on at least `threshold` of their positions.
    Candidates are checked oldest first, so a document is reported as a copy of the earliest kept one it matches.
    """

    def __init__(self, hasher: MinHasher) -> None:
        self.threshold = hasher.threshold
        self._tables: list[dict[int, list[int]]] = [{} for _ in range(hasher.bands)]
        self._signatures = np.empty((64, hasher.num_perm), dtype=np.uint32)  # of the kept documents, by index
        self._kept = 0
        self._seen: set[int] = set()

    @property
    def kept(self) -> int:
        return self._kept

    def exact_seen(self, key: int) -> bool:
        """True if a document with this exact key was offered before (and remember it either way)."""
        if key in self._seen:
            return True
        self._seen.add(key)
        return False

    def near_duplicate_of(self, sketch: tuple[np.ndarray, np.ndarray] | None) -> int | None:
        """The index of a kept document this one nearly duplicates, else None (and it is kept and indexed)."""
        if sketch is None:
            return None
        signature, keys = sketch
        found = self.candidates(keys)
        if found:
            agree = np.count_nonzero(self._signatures[found] == signature, axis=1)
            hits = np.flatnonzero(agree >= self.threshold * signature.size)
            if hits.size:
                return found[int(hits[0])]
        index = self._kept
        if index == len(self._signatures):
            self._signatures = np.concatenate([self._signatures, np.empty_like(self._signatures)])
        self._signatures[index] = signature
        self._kept += 1
        for table, key in zip(self._tables, keys.tolist()):
            table.setdefault(key, []).append(index)
        return None

    def candidates(self, keys: np.ndarray) -> list[int]:
        """The kept documents sharing at least one band with these band keys, oldest first."""
        found: set[int] = set()
        for table, key in zip(self._tables, keys.tolist()):
            hit = table.get(key)
            if hit is not None:
                found.update(hit)
        return sorted(found)
