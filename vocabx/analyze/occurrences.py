"""The corpus as the selection and the projection see it: distinct Han runs (maximal runs of ideographs, each
inside one base pre-token) with their frequencies, laid end to end in one code-point array, and where each
candidate term occurs in it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from vocabx.analyze.kernels import native
from vocabx.analyze.ngrams import MULT, HashIndex, hash_strings


@dataclass
class RunText:
    """Distinct runs joined by a separator (code point 10): `cps`, `weight` (the run's corpus frequency, per
    position), `run_id` (-1 on separators), `remaining` (characters left in the run from each position)."""

    runs: list[str]
    freq: np.ndarray
    cps: np.ndarray
    weight: np.ndarray
    run_id: np.ndarray
    remaining: np.ndarray
    starts: np.ndarray

    @classmethod
    def build(cls, runs: dict[str, int]) -> RunText:
        names = list(runs)
        freq = np.fromiter(runs.values(), dtype=np.int64, count=len(names))
        lengths = np.fromiter((len(r) + 1 for r in names), dtype=np.int64, count=len(names))
        # No Han run at all (an English corpus): empty arrays, not one lone separator.
        cps = np.frombuffer(("\n".join(names) + "\n" if names else "").encode("utf-32-le"), dtype=np.uint32)
        run_id = np.repeat(np.arange(len(names), dtype=np.int32), lengths)
        starts = (np.cumsum(lengths) - lengths).astype(np.int64)
        remaining = (np.repeat(lengths, lengths) - (np.arange(len(cps)) - np.repeat(starts, lengths)) - 1)
        run_id[starts + lengths - 1] = -1
        weight = (freq[np.maximum(run_id, 0)] * (run_id >= 0)).astype(np.float64)
        return cls(names, freq, cps, weight, run_id, remaining.astype(np.int32), starts)

    def rolling_hashes(self, max_n: int) -> dict[int, np.ndarray]:
        """Hash of the n-gram starting at each position, for n = 2..max_n (garbage where it leaves the run)."""
        return dict(self._hashes(max_n))

    def _hashes(self, max_n: int) -> Iterator[tuple[int, np.ndarray]]:
        h = self.cps.astype(np.uint64)
        for n in range(2, max_n + 1):
            shifted = np.zeros_like(h)
            shifted[: len(h) - n + 1] = self.cps[n - 1 :].astype(np.uint64)
            h = h * MULT + shifted
            yield n, h

    def matches(self, terms: Sequence[str], hashes: dict[int, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(position, term index) of every occurrence of the Han `terms` in the runs, sorted by term then position.
        Hashes are computed one length at a time unless given (memory: one array of positions at a time). Only
        positions whose first and last characters start and end some term of that length are looked up."""
        index = np.arange(len(terms))
        lengths = np.fromiter((len(t) for t in terms), dtype=np.int64, count=len(terms))
        kernels = native()
        if kernels is not None and hashes is None and len(terms) and lengths.max() <= 64 and lengths.min() >= 2:
            joined = np.frombuffer("".join(terms).encode("utf-32-le"), dtype=np.uint32)
            firsts = joined[np.cumsum(lengths) - lengths]
            first = np.zeros(int(firsts.max()) + 1, dtype=np.uint8)
            first[firsts] = 1
            pos, term = kernels.find_terms(self.cps, self.remaining, joined, lengths, first)
            return np.frombuffer(pos, dtype=np.int64), np.frombuffer(term, dtype=np.int64)
        pos_all, term_all = [], []
        max_n = int(lengths.max()) if len(lengths) else 1
        top = int(self.cps.max()) + 1 if len(self.cps) else 1
        for n, h in (hashes.items() if hashes is not None else self._hashes(max_n)):
            sel = index[lengths == n]
            if not len(sel):
                continue
            chosen = [terms[i] for i in sel]
            cand = np.flatnonzero(self.remaining >= n)
            for offset, chars in ((0, [t[0] for t in chosen]), (n - 1, [t[-1] for t in chosen])):
                table = np.zeros(top, dtype=bool)
                cps = np.frombuffer("".join(chars).encode("utf-32-le"), dtype=np.uint32)
                table[cps[cps < top]] = True
                cand = cand[table[self.cps[cand + offset]]]
            idx = HashIndex(hash_strings(chosen)).lookup(h[cand])
            hit = idx >= 0
            pos_all.append(cand[hit])
            term_all.append(sel[idx[hit]])
        if not pos_all:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        pos, term = np.concatenate(pos_all), np.concatenate(term_all)
        span = np.int64(len(self.cps) + 1)
        key = np.sort(term * span + pos)  # by term, then position (keys unique: sort values, not indices)
        return key % span, key // span
