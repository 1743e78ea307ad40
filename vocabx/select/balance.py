"""Balance of the output: the character budget (highest scores first), the cap on any one pool input's share, and
the general replay set drawn at random to a given share of domain + replay. Works on small arrays (score,
characters, input) per candidate document; the texts stay in the spill files until the final write.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np

from vocabx.errors import UsageError


@dataclass
class Candidates:
    """Per-document numbers of the documents that passed every filter, in pool order."""

    score: array = field(default_factory=lambda: array("d"))
    chars: array = field(default_factory=lambda: array("q"))
    pool: array = field(default_factory=lambda: array("i"))

    def add(self, score: float, chars: int, pool: int) -> None:
        self.score.append(score)
        self.chars.append(chars)
        self.pool.append(pool)

    def __len__(self) -> int:
        return len(self.chars)


def source_caps(chars: np.ndarray, pool: np.ndarray, n_pools: int, share: float, budget: float) -> np.ndarray:
    """Characters each input may give so that none exceeds `share` of the total: the largest total T (at most
    the budget) that the inputs can fill with each giving at most share * T, found by bisection (the slack
    sum(min(c, share * T)) - T is concave in T, so the feasible totals form one interval from 0).

    >>> source_caps(np.array([90, 10]), np.array([0, 1]), 2, 0.5, float("inf")).round(3).tolist()
    [10.0, 10.0]
    """
    per_pool = np.bincount(pool, weights=chars, minlength=n_pools).astype(np.float64)
    lo, hi = 0.0, min(budget, per_pool.sum())
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.minimum(per_pool, share * mid).sum() >= mid else (lo, mid)
    if lo < 1.0:
        givers = int((per_pool > 0).sum())
        raise UsageError(f"--source-cap {share} cannot be met: {givers} pool input(s) hold selected documents, and "
                         f"no input may give more than {share:.0%}", hint="raise --source-cap, or add pool inputs")
    return np.full(n_pools, share * lo)


def choose(c: Candidates, n_pools: int, budget: int | None, share: float | None) -> tuple[np.ndarray, dict[str, int]]:
    """Mask of the kept candidates: highest score first, within the budget and each input's cap; with counts."""
    score, chars, pool = (np.frombuffer(c.score, dtype=np.float64), np.frombuffer(c.chars, dtype=np.int64),
                          np.frombuffer(c.pool, dtype=np.int32))
    keep = np.zeros(len(c), dtype=bool)
    limit = float("inf") if budget is None else float(budget)
    caps = source_caps(chars, pool, n_pools, share, limit) if share is not None else np.full(n_pools, np.inf)
    used = np.zeros(n_pools)
    total = 0.0
    counts = {"budget_cut_docs": 0, "budget_cut_chars": 0, "source_cap_cut_docs": 0, "source_cap_cut_chars": 0}
    for i in np.argsort(-score, kind="stable").tolist():
        n, p = int(chars[i]), int(pool[i])
        if used[p] + n > caps[p]:
            counts["source_cap_cut_docs"] += 1
            counts["source_cap_cut_chars"] += n
        elif total + n > limit:
            counts["budget_cut_docs"] += 1
            counts["budget_cut_chars"] += n
        else:
            keep[i] = True
            used[p] += n
            total += n
    return keep, counts


def choose_replay(chars: array, domain_chars: int, share: float, seed: int) -> np.ndarray:
    """Mask of general documents, in random order, up to share / (1 - share) of the domain characters."""
    sizes = np.frombuffer(chars, dtype=np.int64)
    keep = np.zeros(len(sizes), dtype=bool)
    if share <= 0 or not len(sizes):
        return keep
    target = domain_chars * share / (1.0 - share)
    total = 0
    for i in np.random.default_rng(seed).permutation(len(sizes)).tolist():
        if total >= target:
            break
        if total + sizes[i] <= target * 1.01 + 1:  # up to 1 % over, so one long document does not end the draw
            keep[i] = True
            total += int(sizes[i])
    return keep
