"""Counting the distinct strings that spans of one text cover (the segmenter's words, the Han runs) by hashing the
spans, so that only distinct strings are ever made into Python objects: a shard of a million characters holds about
half a million words but a few tens of thousands of distinct ones."""

from __future__ import annotations

from collections import Counter

import numpy as np

from vocabx.analyze.kernels import MAX_POSITIONS, native
from vocabx.analyze.ngrams import HashIndex
from vocabx.analyze.tokencount import span_hashes


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
    kernels = native()
    if (kernels is not None and max(len(cps), len(starts)) < MAX_POSITIONS
            and (docs is None or bool((docs[1:] >= docs[:-1]).all()))):
        return _count_native(kernels, text, cps, starts, ends, docs)
    keys = span_hashes(cps, starts, ends, tables)
    ks = np.sort(keys)  # sort values, not indices: a hash lookup gives the inverse
    new = np.ones(len(ks), dtype=bool)
    new[1:] = ks[1:] != ks[:-1]
    inverse = HashIndex(ks[new]).lookup(keys)
    counts = np.bincount(inverse)
    first = np.empty(len(counts), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(keys) - 1, -1, -1)  # the last write wins: each string's first span
    order = np.argsort(first)
    spans = first[order]
    strings = [text[a:b] for a, b in zip(starts[spans].tolist(), ends[spans].tolist())]
    by_string = Counter(dict(zip(strings, counts[order].tolist())))
    if docs is None:
        return by_string, Counter()
    span = int(docs.max()) + 1
    pairs = np.sort(inverse * span + docs)
    distinct = np.ones(len(pairs), dtype=bool)
    distinct[1:] = pairs[1:] != pairs[:-1]
    doc_freq = np.bincount(pairs[distinct] // span, minlength=len(counts))
    return by_string, Counter(dict(zip(strings, doc_freq[order].tolist())))


def _count_native(kernels, text: str, cps: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                  docs: np.ndarray | None) -> tuple[Counter[str], Counter[str]]:
    """`count_spans` by the compiled `group_spans` (spans in text order when `docs` is given)."""
    as64 = [np.ascontiguousarray(a, dtype=np.int64) for a in (starts, ends)]
    doc_arg = np.ascontiguousarray(docs, dtype=np.int64) if docs is not None else np.zeros(0, np.int64)
    first, counts, doc_freq = (np.frombuffer(c, dtype=np.int64) for c in
                               kernels.group_spans(np.ascontiguousarray(cps, dtype=np.uint32), *as64, doc_arg))
    strings = [text[a:b] for a, b in zip(as64[0][first].tolist(), as64[1][first].tolist())]
    by_string = Counter(dict(zip(strings, counts.tolist())))
    return by_string, (Counter(dict(zip(strings, doc_freq.tolist()))) if docs is not None else Counter())
