"""Character n-gram counting over Han runs for new-word discovery: rolling hashes over code-point arrays counted
in the compiled kernel (Apriori pruning), and tables that merge exactly across shards (map/reduce).

An n-gram is keyed by a 64-bit polynomial hash of its code points (`h(abc) = (a*M + b)*M + c mod 2**64`);
two distinct n-grams collide with probability about 2**-64, i.e. never in practice for < 1e8 distinct keys.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vocabx.analyze.kernels import MAX_POSITIONS, native
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


class HashIndex:
    """Membership of 64-bit keys in a fixed key set: a direct-mapped table on the top bits of the remixed keys, with
    binary search only for slots that two keys share. The remix matters: n-grams with a common prefix differ only in
    the low bits of their polynomial hash, so the raw top bits would put them all in one slot. One gather per query
    instead of the ~20 dependent steps of `searchsorted`, which matters for millions of positions.
    """

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = np.ascontiguousarray(keys, dtype=np.uint64)
        if len(self.keys) and bool((self.keys[1:] >= self.keys[:-1]).all()):  # n-gram tables are sorted already
            self.order, self.sorted = np.arange(len(self.keys)), self.keys
        else:
            self.order = np.argsort(self.keys)
            self.sorted = self.keys[self.order]
        bits = max(10, int(len(self.keys) * 4).bit_length())  # load factor <= 1/4
        self.shift = np.uint64(64 - bits)
        table, shared = native().hash_index(self.keys, 64 - bits)  # one compiled pass
        self.table = np.frombuffer(table, dtype=np.int64)
        self.shared = np.frombuffer(shared, dtype=np.uint8)

    def lookup(self, queries: np.ndarray) -> np.ndarray:
        """Index of each query in `keys`, -1 where absent (one compiled pass)."""
        if not len(self.keys):
            return np.full(len(queries), -1, dtype=np.int64)
        return np.frombuffer(native().hash_lookup(self.keys, self.sorted, self.order, self.table, self.shared,
                                                  int(self.shift), np.ascontiguousarray(queries, dtype=np.uint64)),
                             dtype=np.int64)


@dataclass
class NgramTable:
    """Counts of the n-grams of one length: sorted hash keys, frequencies, document frequencies, code points."""

    n: int
    keys: np.ndarray
    counts: np.ndarray
    doc_freq: np.ndarray
    chars: np.ndarray  # (len(keys), n) uint32: the n-gram itself, so strings survive merging
    aligned: np.ndarray | None = None  # occurrences starting and ending on a segmenter word boundary
    _index: HashIndex | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.aligned is None:
            self.aligned = self.counts

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Index of each key in this table, -1 where absent (a hash index built on first use: candidate scoring
        looks up millions of keys, where binary search costs several times more)."""
        if self._index is None:
            self._index = HashIndex(self.keys)
        return self._index.lookup(np.asarray(keys, dtype=np.uint64))

    def count_of(self, keys: np.ndarray) -> np.ndarray:
        """Frequencies of `keys` (0 where absent)."""
        if not len(self.counts):  # a reference with no n-grams of this length (e.g. English): nothing to index
            return np.zeros(len(keys), dtype=np.int64)
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
        return merge_all([self, other])


def merge_all(parts: Sequence[NgramCounts]) -> NgramCounts:
    """The counts of all parts together, in one sort per length (k-way instead of k - 1 pairwise merges)."""
    parts = [p for p in parts if p.tables]
    if len(parts) <= 1:
        return parts[0] if parts else NgramCounts()
    tables = {n: _merge_tables([p.tables[n] for p in parts]) for n in parts[0].tables}
    return NgramCounts(tables, sum(p.positions for p in parts), sum(p.shards for p in parts), parts[0].prune_below)


def _merge_tables(tables: Sequence[NgramTable]) -> NgramTable:
    keys = np.concatenate([t.keys for t in tables])
    uniq, inv = _merge_sorted(keys)
    first = np.empty(len(uniq), dtype=np.int64)
    first[inv] = np.arange(len(keys))  # any copy of a key will do: it only supplies the characters

    def add(name: str) -> np.ndarray:
        values = np.concatenate([getattr(t, name) for t in tables])
        return np.bincount(inv, weights=values, minlength=len(uniq)).astype(np.int64)

    chars = np.concatenate([t.chars for t in tables])[first]
    return NgramTable(tables[0].n, uniq, add("counts"), add("doc_freq"), chars, add("aligned"))


def _merge_sorted(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(keys, return_inverse=True)` for tables' keys laid end to end, each table sorted already: a stable
    argsort (timsort) finds the sorted runs and merges them, cheaper than a value sort and a hash lookup for the
    inverse."""
    order = np.argsort(keys, kind="stable")
    ks = keys[order]
    new_key = np.ones(len(ks), dtype=bool)
    new_key[1:] = ks[1:] != ks[:-1]
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = np.cumsum(new_key) - 1
    return ks[new_key], inverse


def _codepoints(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of the texts joined by newlines (a newline ends every document), and each position's doc id."""
    joined = "\n".join(texts) + "\n"
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    doc = np.repeat(np.arange(len(texts), dtype=np.int64), [len(t) + 1 for t in texts])
    return cps, doc


def count_ngrams(texts: Sequence[str], max_n: int, prune_below: int = 2,
                 word_lengths: Sequence[int] | None = None) -> NgramCounts:
    """Count the Han n-grams (n = 1..max_n) of one shard of documents.

    `word_lengths`: lengths of the segmenter's words over the texts joined by newlines (each newline a word of its
    own); an occurrence that starts and ends on word boundaries counts as `aligned`.

    Apriori pruning: an n-gram can reach `prune_below` only if both of its (n-1)-gram parts do, so longer
    n-grams are hashed only where both parts survived, which keeps the work near-linear.

    >>> t = count_ngrams(["高血压，高血压", "血压"], 3).tables
    >>> int(t[2].count_of(hash_strings(["血压"]))[0]), int(t[2].doc_freq[t[2].lookup(hash_strings(["血压"]))][0])
    (3, 2)
    """
    cps, doc = _codepoints(texts)
    return count_ngrams_at(cps, doc, max_n, prune_below, _word_bounds(len(cps), word_lengths))


def count_ngrams_at(cps: np.ndarray, doc: np.ndarray, max_n: int, prune_below: int,
                    bounds: np.ndarray) -> NgramCounts:
    """`count_ngrams` over texts already joined: code points (a newline ends every document), each position's
    document, and word starts (`bounds`, one more than positions)."""
    han = han_mask(cps)
    pos = np.flatnonzero(han)
    char_counts = np.bincount(cps[pos]) if len(pos) else np.zeros(1, np.int64)
    tables = {1: _unigrams(char_counts)}
    if len(cps) >= MAX_POSITIONS:
        raise ValueError(f"a shard of {len(cps):,} characters is too long for the n-gram kernel (--shard-chars)")
    for n, *columns in native().count_ngrams(cps, doc, bounds.view(np.uint8), han.view(np.uint8),
                                             char_counts.astype(np.int64), max_n, prune_below):
        keys, counts, doc_freq, aligned, first = (np.frombuffer(c, dtype=np.int64) for c in columns)
        order = np.argsort(keys.view(np.uint64))
        first = first[order]
        tables[n] = NgramTable(n, keys.view(np.uint64)[order], counts[order], doc_freq[order],
                               cps[first[:, None] + np.arange(n)], aligned[order])
    return NgramCounts(tables, positions=int(han.sum()), shards=1, prune_below=prune_below)


def _word_bounds(size: int, word_lengths: Sequence[int] | np.ndarray | None) -> np.ndarray:
    """Boolean per position 0..size: True where a word starts (or the text ends); all True without words."""
    bounds = np.ones(size + 1, dtype=bool)
    if word_lengths is None:
        return bounds
    ends = np.cumsum(np.asarray(word_lengths, dtype=np.int64))
    if len(ends) and ends[-1] == size:  # the words must tile the text exactly, else no alignment information
        bounds[:] = False
        bounds[0] = True
        bounds[ends] = True
    return bounds


def _unigrams(counts: np.ndarray) -> NgramTable:
    """The table of single characters from their bincount (document frequency is not needed for them)."""
    keys = np.flatnonzero(counts)
    return NgramTable(1, keys.astype(np.uint64), counts[keys].astype(np.int64), np.zeros(len(keys), np.int64),
                      keys.astype(np.uint32)[:, None])
