"""Overlap-aware budgeted selection: order candidate terms so that each prefix of the order saves about as many
tokens as any set of that size can, counting savings on the actual occurrences in the corpus.

Method: greedy with lazy re-evaluation. The gain of a term is the sum over its occurrences (weighted by run
frequency) of (current cost of that span - 1), where the current cost counts one token per chosen term inside
the span and the base in-context cost of uncovered characters; an occurrence that partly overlaps a chosen one
gains nothing. Gains never grow as terms are chosen, so a stale gain is an upper bound: candidates are popped
in batches from a max-heap of bounds, re-evaluated together (numpy over all their occurrences), and accepted in
order while their fresh gain beats the best remaining bound and no earlier acceptance touched their spans.
Choosing 高血压 thus leaves 高血 and 血压 only the occurrences outside 高血压.
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

BATCH = 256  # candidates re-evaluated per numpy round: larger is fewer rounds, but more re-pushes per round


@dataclass
class Selection:
    """The chosen order: `order[i]` is a candidate index; `gain[i]` its (weighted) saving when it was chosen."""

    order: np.ndarray
    gain: np.ndarray
    evaluations: int


class _State:
    """Per-position cover state over the run text: the outermost chosen span covering each position."""

    def __init__(self, char_cost: np.ndarray, weight: np.ndarray) -> None:
        n = len(char_cost)
        self.cost = char_cost
        self.weight = weight
        self.seg_s = np.arange(n)
        self.seg_e = np.arange(n) + 1
        self.covered = np.zeros(n, dtype=bool)
        self.stamp = np.zeros(n, dtype=np.int64)

    def occurrence_gains(self, starts: np.ndarray, n: int, base_cost: np.ndarray) -> np.ndarray:
        """Saving of turning each occurrence [s, s+n) into one token now (0 if it crosses a chosen span)."""
        span = starts[:, None] + np.arange(n)
        s_col, e_col = starts[:, None], starts[:, None] + n
        crosses = ((self.seg_s[span] < s_col) | (self.seg_e[span] > e_col)).any(axis=1)
        cov = self.covered[span]
        partial = np.where(cov, self.seg_s[span] == span, self.cost[span]).sum(axis=1)
        current = np.where(cov.any(axis=1), partial, base_cost)
        return np.where(crosses, 0, np.maximum(current - 1, 0) * self.weight[starts])

    def accept(self, starts: np.ndarray, n: int, round_id: int) -> None:
        span = (starts[:, None] + np.arange(n)).ravel()
        self.covered[span] = True
        self.seg_s[span] = np.repeat(starts, n)
        self.seg_e[span] = np.repeat(starts + n, n)
        self.stamp[span] = round_id


def _drop_self_overlaps(pos: np.ndarray, term: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Mask of occurrences kept after dropping those overlapping the previous occurrence of the same term
    (`哈哈哈` holds 哈哈 once for a left-to-right longest match, not twice)."""
    keep = np.ones(len(pos), dtype=bool)
    same = term[1:] == term[:-1]
    keep[1:] = ~(same & (pos[1:] < pos[:-1] + lengths[term[:-1]]))
    return keep


def select(pos: np.ndarray, term: np.ndarray, lengths: np.ndarray, base_cost: np.ndarray, value: np.ndarray,
           char_cost: np.ndarray, weight: np.ndarray) -> Selection:
    """Order all candidates by greedy marginal gain (see the module docstring).

    `pos`/`term`: occurrences sorted by term then position; `lengths`, `base_cost` (in-context tokens) and
    `value` (objective weight, 1 for pure token savings) per candidate; `char_cost` and `weight` per position.
    """
    keep = _drop_self_overlaps(pos, term, lengths)
    pos, term = pos[keep], term[keep]
    m = len(lengths)
    bounds_idx = np.searchsorted(term, np.arange(m + 1))
    state = _State(char_cost, weight)
    initial = np.bincount(term, weights=weight[pos] * (base_cost[term] - 1), minlength=m) * value
    heap = [(-g, int(i)) for i, g in enumerate(initial) if g > 0]
    heapq.heapify(heap)
    order: list[int] = []
    gains: list[float] = []
    evaluations = 0
    round_id = 0
    while heap:
        batch = [heapq.heappop(heap)[1] for _ in range(min(BATCH, len(heap)))]
        fresh = _evaluate(state, batch, pos, bounds_idx, lengths, base_cost) * value[batch]
        evaluations += len(batch)
        round_id += 1
        ranked = sorted(zip(fresh.tolist(), batch), reverse=True)
        best_left = -heap[0][0] if heap else 0.0
        for k, (gain, cand) in enumerate(ranked):
            starts = pos[bounds_idx[cand] : bounds_idx[cand + 1]]
            span = (starts[:, None] + np.arange(lengths[cand])).ravel()
            if gain <= 0 or gain < best_left or (state.stamp[span] == round_id).any():
                for g, c in ranked[k:]:
                    if g > 0:
                        heapq.heappush(heap, (-g, c))
                break
            gains_occ = state.occurrence_gains(starts, int(lengths[cand]), base_cost[cand])
            state.accept(starts[gains_occ > 0], int(lengths[cand]), round_id)
            order.append(cand)
            gains.append(gain)
    chosen = np.array(order, dtype=np.int64)
    rest = np.setdiff1d(np.arange(m), chosen)
    rest = rest[np.argsort(-initial[rest], kind="stable")]  # no saving left: ranked by their stand-alone saving
    log.info("selection: %d terms with a positive gain, %d evaluations", len(order), evaluations)
    return Selection(np.concatenate([chosen, rest]), np.concatenate([gains, np.zeros(len(rest))]), evaluations)


def _evaluate(state: _State, batch: list[int], pos: np.ndarray, bounds_idx: np.ndarray, lengths: np.ndarray,
              base_cost: np.ndarray) -> np.ndarray:
    """Fresh gains of the batch's candidates, one numpy pass per term length."""
    batch_arr = np.array(batch)
    out = np.zeros(len(batch))
    for n in np.unique(lengths[batch_arr]):
        members = np.flatnonzero(lengths[batch_arr] == n)
        slices = [np.arange(bounds_idx[batch_arr[i]], bounds_idx[batch_arr[i] + 1]) for i in members]
        owner = np.repeat(members, [len(s) for s in slices])
        occ = np.concatenate(slices) if slices else np.zeros(0, np.int64)
        gains = state.occurrence_gains(pos[occ], int(n), base_cost[batch_arr[owner]])
        out += np.bincount(owner, weights=gains, minlength=len(batch))
    return out
