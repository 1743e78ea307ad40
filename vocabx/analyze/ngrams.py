"""Character n-gram counting over Han runs for new-word discovery: numpy rolling hashes over code-point
arrays, one sort per length, Apriori pruning, and tables that merge exactly across shards (map/reduce).

An n-gram is keyed by a 64-bit polynomial hash of its code points (`h(abc) = (a*M + b)*M + c mod 2**64`);
two distinct n-grams collide with probability about 2**-64, i.e. never in practice for < 1e8 distinct keys.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vocabx.analyze.segment import han_mask

log = logging.getLogger(__name__)

MULT = np.uint64(0x9E3779B97F4A7C15)  # odd, so multiplication is a bijection mod 2**64


def hash_rows(chars: np.ndarray) -> np.ndarray:
    """Hashes of the rows of an (m, n) code-point matrix, equal to the rolling hashes used when counting."""
    h = np.zeros(chars.shape[0], dtype=np.uint64)
    for col in range(chars.shape[1]):
        h = h * MULT + chars[:, col].astype(np.uint64)
    return h


def hash_strings(terms: Sequence[str]) -> np.ndarray:
    """Hashes of equal-length strings (the same values `count_ngrams` gives their occurrences)."""
    if not terms:
        return np.zeros(0, dtype=np.uint64)
    n = len(terms[0])
    cps = np.frombuffer("".join(terms).encode("utf-32-le"), dtype=np.uint32).reshape(len(terms), n)
    return hash_rows(cps)


@dataclass
class NgramTable:
    """Counts of the n-grams of one length: sorted hash keys, frequencies, document frequencies, code points."""

    n: int
    keys: np.ndarray
    counts: np.ndarray
    doc_freq: np.ndarray
    chars: np.ndarray  # (len(keys), n) uint32: the n-gram itself, so strings survive merging

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Index of each key in this table, -1 where absent."""
        if len(self.keys) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        idx = np.searchsorted(self.keys, keys).clip(0, len(self.keys) - 1)
        return np.where(self.keys[idx] == keys, idx, -1)

    def count_of(self, keys: np.ndarray) -> np.ndarray:
        """Frequencies of `keys` (0 where absent)."""
        idx = self.lookup(keys)
        return np.where(idx >= 0, self.counts[idx.clip(0)], 0)

    def strings(self, idx: np.ndarray) -> list[str]:
        """The n-grams at table positions `idx` as Python strings."""
        flat = self.chars[idx].astype("<u4").tobytes().decode("utf-32-le")
        return [flat[i : i + self.n] for i in range(0, len(flat), self.n)]


@dataclass
class NgramCounts:
    """N-gram tables for n = 1..max_n over the Han runs of some documents, mergeable across shards.

    `prune_below`: n-grams (n >= 2) seen fewer times than this in one shard were dropped from that shard's table,
    so a merged count is low by at most `(prune_below - 1) * shards`; counts of n-grams confined to one shard are
    exact. `positions` is the number of Han characters scanned.
    """

    tables: dict[int, NgramTable] = field(default_factory=dict)
    positions: int = 0
    shards: int = 0
    prune_below: int = 2

    def merge(self, other: NgramCounts) -> NgramCounts:
        """The counts of both inputs together (document frequencies add: shards hold disjoint documents)."""
        if not self.tables:
            return other
        if not other.tables:
            return self
        tables = {n: _merge_tables(self.tables[n], other.tables[n]) for n in self.tables}
        return NgramCounts(tables, self.positions + other.positions, self.shards + other.shards, self.prune_below)


def _merge_tables(a: NgramTable, b: NgramTable) -> NgramTable:
    keys = np.concatenate([a.keys, b.keys])
    uniq, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    counts = np.bincount(inv, weights=np.concatenate([a.counts, b.counts]), minlength=len(uniq)).astype(np.int64)
    df = np.bincount(inv, weights=np.concatenate([a.doc_freq, b.doc_freq]), minlength=len(uniq)).astype(np.int64)
    chars = np.concatenate([a.chars, b.chars])[first]
    return NgramTable(a.n, uniq, counts, df, chars)


def _codepoints(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of the texts joined by newlines (a newline ends every document), and each position's doc id."""
    joined = "\n".join(texts) + "\n"
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    doc = np.repeat(np.arange(len(texts), dtype=np.int64), [len(t) + 1 for t in texts])
    return cps, doc


def _run_remaining(han: np.ndarray) -> np.ndarray:
    """For each position, how many Han characters follow it in its run (itself included); 0 off-run."""
    positions = np.arange(len(han))
    breaks = np.flatnonzero(~han)  # never empty: the joined text ends with a newline
    return breaks[np.searchsorted(breaks, positions)] - positions


def _group(keys: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sort-group `keys` (whose positions ascend): unique keys, counts, doc freqs, first occurrence, inverse."""
    order = np.argsort(keys, kind="stable")  # stable: within a key, positions (hence doc ids) stay ascending
    ks, ds = keys[order], docs[order]
    new_key = np.empty(len(ks), dtype=bool)
    new_key[:1] = True
    new_key[1:] = ks[1:] != ks[:-1]
    new_doc = new_key.copy()
    new_doc[1:] |= ds[1:] != ds[:-1]
    starts = np.flatnonzero(new_key)
    counts = np.diff(np.append(starts, len(ks)))
    doc_freq = np.add.reduceat(new_doc.astype(np.int64), starts) if len(starts) else np.zeros(0, np.int64)
    inverse = np.empty(len(ks), dtype=np.int64)
    inverse[order] = np.cumsum(new_key) - 1
    return ks[starts], counts, doc_freq, order[starts], inverse


def count_ngrams(texts: Sequence[str], max_n: int, prune_below: int = 2) -> NgramCounts:
    """Count the Han n-grams (n = 1..max_n) of one shard of documents.

    Apriori pruning: an n-gram can reach `prune_below` only if both of its (n-1)-gram parts do, so longer
    n-grams are hashed only where both parts survived, which keeps the work near-linear.

    >>> t = count_ngrams(["高血压，高血压", "血压"], 3).tables
    >>> int(t[2].count_of(hash_strings(["血压"]))[0]), int(t[2].doc_freq[t[2].lookup(hash_strings(["血压"]))][0])
    (3, 2)
    """
    cps, doc = _codepoints(texts)
    han = han_mask(cps)
    remaining = _run_remaining(han)
    pos = np.flatnonzero(han)
    char_counts = np.bincount(cps[pos]) if len(pos) else np.zeros(1, np.int64)
    tables = {1: _unigrams(char_counts)}
    kept_count = np.zeros(len(cps), dtype=np.int64)
    kept_count[pos] = char_counts[cps[pos]]
    hashes = cps.astype(np.uint64)
    for n in range(2, max_n + 1):
        ok = (remaining[pos] >= n) & (kept_count[pos] >= prune_below) & (kept_count[pos + 1] >= prune_below)
        pos = pos[ok]
        hashes[pos] = hashes[pos] * MULT + cps[pos + n - 1]  # in place: positions off `pos` are never read again
        keys, counts, doc_freq, first, inverse = _group(hashes[pos], doc[pos])
        kept_count = np.zeros(len(cps), dtype=np.int64)
        kept_count[pos] = counts[inverse]
        keep = counts >= prune_below
        first_pos = pos[first[keep]]
        chars = cps[first_pos[:, None] + np.arange(n)] if len(first_pos) else np.zeros((0, n), np.uint32)
        tables[n] = NgramTable(n, keys[keep], counts[keep].astype(np.int64), doc_freq[keep], chars.astype(np.uint32))
    return NgramCounts(tables, positions=int(han.sum()), shards=1, prune_below=prune_below)


def _unigrams(counts: np.ndarray) -> NgramTable:
    """The table of single characters from their bincount (document frequency is not needed for them)."""
    keys = np.flatnonzero(counts)
    return NgramTable(1, keys.astype(np.uint64), counts[keys].astype(np.int64), np.zeros(len(keys), np.int64),
                      keys.astype(np.uint32)[:, None])
