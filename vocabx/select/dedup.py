"""Exact and near-duplicate removal. Exact: a 64-bit hash of the text with whitespace runs collapsed. Near: MinHash
signatures (datasketch's `MinHash`, affine32 scheme) over character 5-gram shingles of the content characters
(punctuation, symbols and spaces left out, so re-punctuated copies still match), looked up in datasketch's
`MinHashLSH` band index; the first document of a group is kept.

Signatures are computed in the worker processes (`signatures`); the index lives in one process (`Deduplicator`),
which holds one small signature per kept document, never text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from vocabx.errors import require
from vocabx.select.relevance import normalized_keep
from vocabx.select.textbatch import TextBatch

SHINGLE = 5  # characters per shingle: about two Chinese words, or one English word and a half
NUM_PERM = 128  # signature length: the Jaccard estimate's standard error is about 0.04 at 128
SEED = 1
LSH_SLACK = 0.2  # the LSH index looks for pairs this much less similar than the threshold; signatures decide


def exact_key(text: str) -> bytes:
    """8 bytes identifying the text up to whitespace (BLAKE2b)."""
    return hashlib.blake2b(" ".join(text.split()).encode("utf-8"), digest_size=8).digest()


@dataclass
class MinHasher:
    """Computes datasketch MinHash signatures for the documents of a batch (one permutation table, reused)."""

    num_perm: int = NUM_PERM
    shingle: int = SHINGLE
    _perm: object = field(default=None, repr=False)

    def _permutations(self):
        if self._perm is None:
            datasketch = require("datasketch", "near-duplicate removal", "datasketch")
            self._perm = datasketch.MinHash(num_perm=self.num_perm, seed=SEED).permutations
        return self._perm

    def signatures(self, batch: TextBatch, rows: list[int]) -> dict[int, np.ndarray]:
        """row -> signature (uint32[num_perm]) for the given rows of the batch."""
        datasketch = require("datasketch", "near-duplicate removal", "datasketch")
        if not rows:
            return {}
        hashes, doc = batch.ngram_hashes(self.shingle, normalized_keep(batch), fold_case=True)
        order = np.argsort(doc, kind="stable")
        bounds = np.searchsorted(doc[order], np.arange(len(batch) + 1))
        short = (hashes >> np.uint64(32)).astype(np.uint32)  # affine32 takes 32-bit hashes
        out = {}
        for row in rows:
            values = np.unique(short[order[bounds[row]:bounds[row + 1]]])
            m = datasketch.MinHash(num_perm=self.num_perm, seed=SEED, hashfunc=int, permutations=self._permutations(),
                                   scheme="affine32")
            if values.size:
                m.update_batch(values)
            out[row] = m.hashvalues
        return out


class Deduplicator:
    """Keeps the first of each group of exact or near duplicates.

    The LSH index is built for a lower similarity than the threshold (LSH_SLACK below it), so that pairs just above
    the threshold are found nearly always (at 0.7 with 14 bands of 9 rows, a pair at 0.8 was missed 13 % of the
    time); each candidate is then kept only if its signatures agree on at least `threshold` of their positions.
    """

    def __init__(self, threshold: float = 0.7, num_perm: int = NUM_PERM) -> None:
        datasketch = require("datasketch", "near-duplicate removal", "datasketch")
        self.threshold = threshold
        self._lsh = datasketch.MinHashLSH(threshold=max(0.3, threshold - LSH_SLACK), num_perm=num_perm)
        self._lean = datasketch.LeanMinHash
        self._signatures: list[np.ndarray] = []  # of the kept documents, by LSH key
        self._seen: set[bytes] = set()

    @property
    def kept(self) -> int:
        return len(self._signatures)

    def exact_seen(self, key: bytes) -> bool:
        """True if a document with this exact key was offered before (and remember it either way)."""
        if key in self._seen:
            return True
        self._seen.add(key)
        return False

    def near_duplicate_of(self, signature: np.ndarray | None) -> str | None:
        """The key of a kept document this one nearly duplicates, else None (and it is kept and indexed)."""
        if signature is None:
            return None
        lean = self._lean(seed=SEED, hashvalues=signature, scheme="affine32")
        for key in self._lsh.query(lean):
            if float(np.mean(self._signatures[int(key)] == signature)) >= self.threshold:
                return str(key)
        self._lsh.insert(str(len(self._signatures)), lean, check_duplication=False)
        self._signatures.append(signature)
        return None
