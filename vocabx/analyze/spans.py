"""Spans of one text grouped by their strings (the segmenter's words, the Han runs, a tokenizer's pieces) by hashing
the spans, so that only distinct strings are ever made into Python objects: a shard of a million characters holds
about half a million words but a few tens of thousands of distinct ones."""

from __future__ import annotations

from collections import Counter

import numpy as np

from vocabx.analyze.kernels import MAX_POSITIONS, native
from vocabx.analyze.ngrams import MULT

INV_MULT = np.uint64(pow(int(MULT), -1, 1 << 64))


def span_hashes(cps: np.ndarray, starts: np.ndarray, stops: np.ndarray,
                tables: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """64-bit keys of the spans cps[starts[i]:stops[i]] without a Python loop: with Q the inverse of the odd
    multiplier M (mod 2**64), the prefix sums G[i] = sum_{j<i} c_j Q**j give sum_{a<=j<b} c_j M**(b-1-j) =
    (G[b] - G[a]) * M**(b-1), the polynomial hash of the span; the length is mixed in as well. `tables`:
    `span_hash_tables(cps)`, for callers hashing spans of one text many times."""
    prefix, powers = tables if tables is not None else span_hash_tables(cps)
    with np.errstate(over="ignore"):
        return (prefix[stops] - prefix[starts]) * powers[stops - 1] * MULT + (stops - starts).astype(np.uint64)


def span_hash_tables(cps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The prefix sums G and the powers of M that `span_hashes` needs for the text `cps` (one compiled pass)."""
    prefix, powers = native().span_hash_tables(np.ascontiguousarray(cps, dtype=np.uint32), int(INV_MULT))
    return np.frombuffer(prefix, dtype=np.uint64), np.frombuffer(powers, dtype=np.uint64)


def group_spans(cps: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                docs: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """The spans cps[starts[i]:ends[i]] grouped by their strings, groups numbered in order of first appearance:
    (first span of each group, each span's group, group sizes, documents per group: the distinct `docs` among
    its spans, zeros without `docs`; `docs` in text order). One compiled pass.

    >>> cps = np.frombuffer("ab ab c".encode("utf-32-le"), np.uint32)
    >>> [a.tolist() for a in group_spans(cps, np.array([0, 3, 6]), np.array([2, 5, 7]), np.array([0, 1, 1]))]
    [[0, 2], [0, 0, 1], [2, 1], [2, 1]]
    """
    starts, ends = (np.ascontiguousarray(a, dtype=np.int64) for a in (starts, ends))
    if max(len(cps), len(starts)) >= MAX_POSITIONS:
        raise ValueError(f"{max(len(cps), len(starts)):,} positions are too many for the span kernel (--shard-chars)")
    if docs is not None and not bool((docs[1:] >= docs[:-1]).all()):
        raise ValueError("group_spans needs the spans' documents in order")
    doc_arg = np.ascontiguousarray(docs, dtype=np.int64) if docs is not None else np.zeros(0, np.int64)
    return tuple(np.frombuffer(c, dtype=np.int64) for c in
                 native().group_spans(np.ascontiguousarray(cps, dtype=np.uint32), starts, ends, doc_arg))


def count_spans(text: str, cps: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                docs: np.ndarray | None = None) -> tuple[Counter[str], Counter[str]]:
    """The strings text[starts[i]:ends[i]] counted, in the order they are first seen (as `Counter(strings)` would
    have them), and with `docs` (each span's document) the number of documents holding each.
    `cps`: the code points of `text`.

    >>> count_spans("ab ab c", np.frombuffer("ab ab c".encode("utf-32-le"), np.uint32), np.array([0, 3, 6]),
    ...             np.array([2, 5, 7]), np.array([0, 1, 1]))
    (Counter({'ab': 2, 'c': 1}), Counter({'ab': 2, 'c': 1}))
    """
    if not len(starts):
        return Counter(), Counter()
    first, _, counts, doc_freq = group_spans(cps, starts, ends, docs)
    strings = [text[a:b] for a, b in zip(np.asarray(starts)[first].tolist(), np.asarray(ends)[first].tolist())]
    by_string = Counter(dict(zip(strings, counts.tolist())))
    return by_string, (Counter(dict(zip(strings, doc_freq.tolist()))) if docs is not None else Counter())
