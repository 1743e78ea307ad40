"""Spans of one text grouped by their strings (the segmenter's words, the Han runs, a tokenizer's pieces) by hashing
the spans, so that only distinct strings are ever made into Python objects: a shard of a million characters holds
about half a million words but a few tens of thousands of distinct ones."""

from __future__ import annotations

from collections import Counter

import numpy as np

from vocabx.analyze.ngrams import MULT, HashIndex

INV_MULT = np.uint64(pow(int(MULT), -1, 1 << 64))
TABLE_BLOCK = 1 << 20  # positions per block of `span_hash_tables`


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
    """The prefix sums G and the powers of M that `span_hashes` needs for the text `cps`, built a block of
    TABLE_BLOCK positions at a time: the two tables are the only arrays as long as the text (a whole-array
    formulation held five more, 1.2 GB at 100 MB of Chinese).

    >>> prefix, powers = span_hash_tables(np.array([7, 8, 9], np.uint32))
    >>> m, q = int(MULT), int(INV_MULT)
    >>> int(powers[2]) == m**2 % 2**64, int(prefix[3]) == (7 + 8 * q + 9 * q**2) % 2**64
    (True, True)
    """
    n = len(cps)
    prefix = np.empty(n + 1, dtype=np.uint64)
    powers = np.empty(n + 1, dtype=np.uint64)
    prefix[0] = 0
    block = min(TABLE_BLOCK, n + 1)
    with np.errstate(over="ignore"):
        m_run = np.full(block, MULT, dtype=np.uint64)
        m_run[0] = 1
        m_run = np.multiply.accumulate(m_run)  # M**0 .. M**(block-1)
        q_run = np.full(block, INV_MULT, dtype=np.uint64)
        q_run[0] = 1
        q_run = np.multiply.accumulate(q_run)  # Q**0 .. Q**(block-1)
        m_step, q_step = m_run[-1] * MULT, q_run[-1] * INV_MULT  # M**block, Q**block
        m_at, q_at, total = np.uint64(1), np.uint64(1), np.uint64(0)  # M**a, Q**a, G[a] at block start a
        for a in range(0, n + 1, block):
            b = min(a + block, n + 1)
            powers[a:b] = m_run[: b - a] * m_at
            m_at = m_at * m_step
            if a < n:
                c = min(a + block, n)
                terms = cps[a:c].astype(np.uint64)
                terms *= q_run[: c - a]
                terms *= q_at
                np.cumsum(terms, out=terms)
                terms += total
                prefix[a + 1 : c + 1] = terms
                total = terms[-1]
                q_at = q_at * q_step
    return prefix, powers


def group_spans(cps: np.ndarray, starts: np.ndarray, ends: np.ndarray, docs: np.ndarray | None = None,
                tables: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, ...]:
    """The spans cps[starts[i]:ends[i]] grouped by their strings, groups numbered in order of first appearance:
    (first span of each group, each span's group, group sizes, documents per group: the distinct `docs` among
    its spans, zeros without `docs`): span hashes, a value sort and a hash lookup. `tables`: `span_hash_tables(cps)`
    when the caller has them.

    >>> cps = np.frombuffer("ab ab c".encode("utf-32-le"), np.uint32)
    >>> [a.tolist() for a in group_spans(cps, np.array([0, 3, 6]), np.array([2, 5, 7]), np.array([0, 1, 1]))]
    [[0, 2], [0, 0, 1], [2, 1], [2, 1]]
    """
    starts, ends = (np.ascontiguousarray(a, dtype=np.int64) for a in (starts, ends))
    keys = span_hashes(cps, starts, ends, tables)
    ks = np.sort(keys)  # sort values, not indices (numpy's SIMD value sort); a hash lookup gives the inverse
    new = np.ones(len(ks), dtype=bool)
    new[1:] = ks[1:] != ks[:-1]
    by_key = HashIndex(ks[new]).lookup(keys)
    first = np.empty(int(new.sum()), dtype=np.int64)
    first[by_key[::-1]] = np.arange(len(keys) - 1, -1, -1)  # the last write wins: each group's first span
    order = np.argsort(first)  # groups in order of first appearance
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    inverse = rank[by_key]
    counts = np.bincount(inverse, minlength=len(order))
    doc_freq = np.zeros(len(order), dtype=np.int64)
    if docs is not None and len(keys):
        span = int(docs.max()) + 1
        pairs = np.sort(inverse * span + docs)
        distinct = np.ones(len(pairs), dtype=bool)
        distinct[1:] = pairs[1:] != pairs[:-1]
        doc_freq = np.bincount(pairs[distinct] // span, minlength=len(order))
    return first[order], inverse, counts, doc_freq


def count_spans(text: str, cps: np.ndarray, starts: np.ndarray, ends: np.ndarray, docs: np.ndarray | None = None,
                tables: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[Counter[str], Counter[str]]:
    """The strings text[starts[i]:ends[i]] counted, in the order they are first seen (as `Counter(strings)` would
    have them), and with `docs` (each span's document) the number of documents holding each.
    `cps`: the code points of `text`; `tables`: `span_hash_tables(cps)` when the caller has them.

    >>> count_spans("ab ab c", np.frombuffer("ab ab c".encode("utf-32-le"), np.uint32), np.array([0, 3, 6]),
    ...             np.array([2, 5, 7]), np.array([0, 1, 1]))
    (Counter({'ab': 2, 'c': 1}), Counter({'ab': 2, 'c': 1}))
    """
    if not len(starts):
        return Counter(), Counter()
    first, _, counts, doc_freq = group_spans(cps, starts, ends, docs, tables)
    strings = [text[a:b] for a, b in zip(np.asarray(starts)[first].tolist(), np.asarray(ends)[first].tolist())]
    by_string = Counter(dict(zip(strings, counts.tolist())))
    return by_string, (Counter(dict(zip(strings, doc_freq.tolist()))) if docs is not None else Counter())
