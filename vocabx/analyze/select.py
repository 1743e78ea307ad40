"""Overlap-aware budgeted selection: order candidate terms so that each prefix of the order saves about as many
tokens as any set of that size can, counting savings on the actual occurrences in the distinct Han runs.

Cost model. The chosen terms cover some occurrences with non-crossing spans. A span costs one token; a character
outside every span costs its base in-context tokens; an occurrence that touches no span costs the term's base
in-context tokens. The gain of a term is the sum over its occurrences (weighted by run frequency) of (current
cost of the occurrence - 1); an occurrence that partly overlaps a chosen span gains nothing. Choosing 高血压 thus
leaves 高血 and 血压 only their occurrences outside 高血压, and 血压 then 高血压 nests the first inside the second.

Method: greedy in rounds. Gains are kept per occurrence and summed per candidate; after each round only the
occurrences of unchosen candidates touching the new spans are re-scored (over their own windows, numpy, no
per-candidate loop; a CSR index over positions finds them) and the totals updated by difference. A round takes the best `batch` candidates and accepts, best first, those whose
positive occurrences share no character with a better candidate of the batch; the others wait for the next round
with their recomputed gain. Gains only shrink as terms are chosen, and accepted candidates of one round do not touch each
other's occurrences, so each accepted gain is exact when it is accepted. The approximation against exact greedy:
inside a round a later candidate may be accepted before a waiting one whose reduced gain would still have been
larger; `tests/test_analyze.py` bounds the loss of savings against exact greedy. Batches grow with the number
chosen (early choices matter most, and are made in small rounds). With a fixed `priority` (the `domain` objective)
the same rounds place candidates in that order instead, and `gain` is what each saves where it is placed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from vocabx.analyze.kernels import native

log = logging.getLogger(__name__)

MIN_BATCH = 128  # candidates per round at the start; later rounds take a quarter of those chosen so far
GROWTH = 4
FREE = np.iinfo(np.int64).max  # a position no candidate of the round claims


@dataclass
class Cover:
    """Chosen spans over the run text: start positions and lengths of the outermost spans, sorted by start."""

    starts: np.ndarray
    lengths: np.ndarray


@dataclass
class Selection:
    """The chosen order: `order[i]` is a candidate index; `gain[i]` its (weighted) saving when it was chosen.
    The spans each chosen candidate took (`span_pos`, `span_len`, `span_rank`: its position in `order`) give
    the cover after any prefix of the order (`cover_at`)."""

    order: np.ndarray
    gain: np.ndarray
    evaluations: int
    rounds: int = 0
    span_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    span_len: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    span_rank: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    _by_start: np.ndarray | None = field(default=None, repr=False, compare=False)

    def spans_by_start(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All spans (position, length, rank) sorted by start, longest first (terms are far below 64)."""
        if self._by_start is None:  # sorted once for all k
            self._by_start = np.argsort(self.span_pos * 64 - self.span_len)
        order = self._by_start
        return self.span_pos[order], self.span_len[order], self.span_rank[order]

    def cover_at(self, k: int) -> Cover:
        """The spans once the first `k` candidates of the order are chosen: spans never cross, so a span is
        either outermost or nested in an earlier-sorted one (dropped)."""
        self.spans_by_start()
        order = self._by_start[self.span_rank[self._by_start] < k]
        pos, n = self.span_pos[order], self.span_len[order]
        ends = pos + n
        reach = np.maximum.accumulate(ends) if len(ends) else ends
        keep = np.ones(len(pos), dtype=bool)
        keep[1:] = pos[1:] >= reach[:-1]
        return Cover(pos[keep], n[keep])


class _State:
    """Per-position cover state over the run text, kept incrementally so a round costs O(touched), not O(text):
    `unit` is what a position costs now (1 at a span start, 0 inside a span, its base cost outside every span)."""

    def __init__(self, char_cost: np.ndarray, max_len: int) -> None:
        size = len(char_cost) + max_len + 1  # padding, so every occurrence window and end index is valid
        self.unit = np.zeros(size)
        self.unit[: len(char_cost)] = char_cost
        self.covered = np.zeros(size, dtype=bool)
        self.interior = np.zeros(size, dtype=bool)
        self.max_len = max_len
        self.best = np.full(size, FREE, dtype=np.int64)  # scratch for `_conflict_free`

    def gains(self, pos: np.ndarray, length: np.ndarray, base_cost: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Saving of making each occurrence [pos, pos + length) one token now (0 where it crosses a chosen span).
        One 1-D gather per offset instead of (occurrences, max_len) matrices: costs are whole numbers, so the
        sums are exact in any order."""
        touched = self.covered[pos].copy()
        cost = self.unit[pos].copy()
        for j in range(1, self.max_len):
            inside = j < length
            at = pos + j
            touched |= self.covered[at] & inside
            cost += np.where(inside, self.unit[at], 0.0)
        crosses = self.interior[pos] | self.interior[pos + length]
        cost = np.where(touched, cost, base_cost)
        return np.where(crosses, 0.0, np.maximum(cost - 1.0, 0.0) * weight)

    def accept(self, pos: np.ndarray, n: np.ndarray) -> None:
        span = span_positions(pos, n)
        self.covered[span] = True
        self.interior[span] = True  # spans chosen earlier inside a new one become its interior
        self.unit[span] = 0.0
        self.interior[pos] = False
        self.unit[pos] = 1.0


def span_positions(pos: np.ndarray, n: np.ndarray) -> np.ndarray:
    """All positions of the spans [pos[i], pos[i] + n[i])."""
    total = int(n.sum())
    offsets = np.arange(total) - np.repeat(np.cumsum(n) - n, n)
    return np.repeat(pos, n) + offsets


def drop_self_overlaps(pos: np.ndarray, term: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Mask of occurrences kept after dropping those overlapping the previous occurrence of the same term
    (`哈哈哈` holds 哈哈 once for a left-to-right longest match, not twice)."""
    keep = np.ones(len(pos), dtype=bool)
    same = term[1:] == term[:-1]
    keep[1:] = ~(same & (pos[1:] < pos[:-1] + lengths[term[:-1]]))
    return keep


def select(pos: np.ndarray, term: np.ndarray, lengths: np.ndarray, base_cost: np.ndarray, value: np.ndarray,
           char_cost: np.ndarray, weight: np.ndarray, priority: np.ndarray | None = None) -> Selection:
    """Order all candidates by greedy marginal gain in rounds (see the module docstring).

    `pos`/`term`: occurrences sorted by term then position; `lengths`, `base_cost` (in-context tokens) and
    `value` (objective weight, 1 for pure token savings) per candidate; `char_cost` and `weight` per position.
    With `priority` (higher first), rounds take candidates in that order instead of by gain, every candidate is
    placed, and `gain` records what each saves when placed: the cover for a ranking decided elsewhere.
    """
    keep = drop_self_overlaps(pos, term, lengths)
    kernels = native()
    if kernels is not None:
        return _select_native(kernels, pos[keep], term[keep], lengths, base_cost, value, char_cost, weight, priority)
    occ = _Occurrences(pos[keep], term[keep], lengths, base_cost.astype(float), weight)
    state = _State(char_cost, occ.max_len)
    m = len(lengths)
    occ_gain = np.maximum(occ.base - 1.0, 0.0) * occ.weight  # nothing chosen yet: every occurrence is untouched
    total = np.bincount(occ.term, weights=occ_gain, minlength=m) * value
    initial = total.copy()
    chosen = np.zeros(m, dtype=bool)
    order: list[np.ndarray] = []
    gains: list[np.ndarray] = []
    spans: list[tuple[np.ndarray, ...]] = []
    rounds = evaluations = done = 0
    while True:
        live = np.flatnonzero(((total > 1e-9) | (priority is not None)) & ~chosen)
        if not len(live):
            break
        rounds += 1
        key = -total[live] if priority is None else -priority[live]
        # A fixed priority only waits on conflicts, so its rounds may grow faster than greedy ones.
        batch = max(MIN_BATCH, done // (GROWTH if priority is None else 1))
        top = live[np.argsort(key, kind="stable")[:batch]]
        accepted, won = _conflict_free(top, occ, occ_gain, state.best)
        state.accept(occ.pos[won], occ.length[won])
        spans.append((occ.pos[won], occ.length[won], occ.term[won]))
        chosen[accepted] = True
        done += len(accepted)
        order.append(accepted)
        gains.append(total[accepted])
        # Only occurrences touching the new spans change gain: re-score those, update the totals by difference.
        # Chosen candidates' occurrences are never read again (rounds take unchosen ones only): skip them.
        touched = occ.touching(occ.pos[won], occ.length[won])
        touched = touched[~chosen[occ.term[touched]]]
        fresh = state.gains(occ.pos[touched], occ.length[touched], occ.base[touched], occ.weight[touched])
        total += np.bincount(occ.term[touched], weights=fresh - occ_gain[touched], minlength=m) * value
        occ_gain[touched] = fresh
        evaluations += len(touched)
    head = np.concatenate(order) if order else np.zeros(0, np.int64)
    rest = np.flatnonzero(~chosen)
    rest = rest[np.argsort(-initial[rest], kind="stable")]  # no saving left: ranked by their stand-alone saving
    log.info("selection: %d terms placed, %d rounds, %d re-scored occurrences", len(head), rounds, evaluations)
    final = np.concatenate([head, rest]).astype(np.int64)
    gain_of = np.zeros(m)
    gain_of[head] = np.concatenate(gains) if gains else np.zeros(0)
    if priority is not None:  # rounds only approximate the priority order (a conflict waits a round): restore it
        final = np.argsort(-priority, kind="stable")
    position = np.empty(m, dtype=np.int64)
    position[final] = np.arange(m)
    span_pos, span_len, span_term = (np.concatenate([s[i] for s in spans]) if spans else np.zeros(0, np.int64)
                                     for i in range(3))
    return Selection(final, gain_of[final], evaluations, rounds, span_pos, span_len, position[span_term])


def _select_native(kernels, pos: np.ndarray, term: np.ndarray, lengths: np.ndarray, base_cost: np.ndarray,
                   value: np.ndarray, char_cost: np.ndarray, weight: np.ndarray,
                   priority: np.ndarray | None) -> Selection:
    """`select` by the compiled kernel: one pass in priority order, or exact lazy greedy by gain (the rounds above
    approximate it). With a priority both paths give the same result: a round accepts only candidates whose
    gaining occurrences are disjoint from every better one's, which is what placing them one by one does."""
    m = len(lengths)
    pos, term = np.asarray(pos, dtype=np.int64), np.asarray(term, dtype=np.int64)  # no copies where they are so
    length = np.asarray(lengths, dtype=np.int64)[term]
    base = np.asarray(base_cost, dtype=np.float64)[term]
    occ_weight = np.asarray(weight, dtype=np.float64)[pos]
    first_of = np.searchsorted(term, np.arange(m + 1)).astype(np.int64)
    size = len(char_cost) + (int(lengths.max()) if m else 1) + 1
    unit = np.zeros(size)
    unit[: len(char_cost)] = char_cost
    covered, interior = np.zeros(size, np.uint8), np.zeros(size, np.uint8)
    sequence = (np.argsort(-priority, kind="stable") if priority is not None else np.zeros(0)).astype(np.int64)
    order, gain, won = np.zeros(m, np.int64), np.zeros(m), np.full(len(pos), -1, np.int64)
    placed, evaluations = kernels.select_cover(pos, length, base, occ_weight, first_of,
                                               np.ascontiguousarray(value, dtype=np.float64), unit, covered,
                                               interior, sequence, 1e-9, order, gain, won)
    if priority is None:  # the rest save nothing more: ranked by their stand-alone saving, as in `select`
        chosen = np.zeros(m, dtype=bool)
        chosen[order[:placed]] = True
        initial = np.bincount(term, weights=np.maximum(base - 1.0, 0.0) * occ_weight, minlength=m) * value
        rest = np.flatnonzero(~chosen)
        order[placed:] = rest[np.argsort(-initial[rest], kind="stable")]
        gain[placed:] = 0.0
    log.info("selection (native): %d terms placed, %d occurrences scored", placed, evaluations)
    spans = won >= 0
    return Selection(order, gain, evaluations, 1, pos[spans], length[spans], won[spans])


class _Occurrences:
    """Occurrence columns (sorted by term, then position) and a position index to find those near a span."""

    def __init__(self, pos: np.ndarray, term: np.ndarray, lengths: np.ndarray, base_cost: np.ndarray,
                 weight: np.ndarray) -> None:
        self.pos, self.term = pos, term
        self.length = lengths[term]
        self.ends = pos + self.length
        self.base = base_cost[term]
        self.weight = weight[pos]
        self.by_pos = np.argsort(pos, kind="stable")
        self.max_len = int(lengths.max()) if len(lengths) else 1
        # CSR over text positions: occurrences by_pos[before[p]:before[p + 1]] start at p. A gather per span
        # replaces two binary searches per span (hundreds of thousands a round).
        size = (int(pos.max()) if len(pos) else 0) + self.max_len + 2
        self.before = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(np.bincount(pos, minlength=size), out=self.before[1:])
        self._mark = np.zeros(len(pos), dtype=bool)
        # Occurrences of candidate t are first_of[t]:first_of[t + 1] (they are sorted by term).
        self.first_of = np.searchsorted(term, np.arange(len(lengths) + 1))

    def touching(self, starts: np.ndarray, n: np.ndarray) -> np.ndarray:
        """Occurrences [p, p + len] (end included: a span starting there makes it cross) meeting any span."""
        size = len(self.before) - 1
        lo = self.before[np.clip(starts - self.max_len, 0, size)]
        hi = self.before[np.clip(starts + n, 0, size)]
        hits = self.by_pos[span_positions(lo, hi - lo)]
        self._mark[hits] = True  # dedupe with a mask instead of a sort
        out = np.flatnonzero(self._mark)
        self._mark[out] = False
        return out


def _conflict_free(top: np.ndarray, occs: _Occurrences, occ_gain: np.ndarray,
                   best: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The candidates of `top` (best first) whose gaining occurrences share no position with a better one's,
    and those occurrences (indices into `pos`). `best`: scratch per text position, FREE on entry and exit."""
    lo, hi = occs.first_of[top], occs.first_of[top + 1]
    occ = span_positions(lo, hi - lo)  # every occurrence index of the batch's candidates, grouped in `top` order
    occ_rank = np.repeat(np.arange(len(top)), hi - lo)
    gaining = occ_gain[occ] > 0
    occ, occ_rank = occ[gaining], occ_rank[gaining]
    n = occs.length[occ]
    span = span_positions(occs.pos[occ], n)
    rank = np.repeat(occ_rank, n)
    np.minimum.at(best, span, rank)  # `best`: all FREE outside a call, so no text-sized array per round
    blocked = np.bincount(rank[best[span] != rank], minlength=len(top)) > 0
    best[span] = FREE
    return top[~blocked], occ[~blocked[occ_rank]]


def merge_ranked(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Indices into concat(first, second) that interleave two ranked lists by gain, keeping each list's order.
    `second` is sorted descending; `first` need not be (rounds), so it competes with its running minimum.

    >>> merge_ranked(np.array([9.0, 5.0, 6.0]), np.array([7.0, 1.0])).tolist()
    [0, 3, 1, 2, 4]
    """
    floor = np.minimum.accumulate(first) if len(first) else first
    pos_first = np.arange(len(first)) + np.searchsorted(-second, -floor, side="left")
    pos_second = np.arange(len(second)) + np.searchsorted(-floor, -second, side="right")
    out = np.empty(len(first) + len(second), dtype=np.int64)
    out[pos_first] = np.arange(len(first))
    out[pos_second] = len(first) + np.arange(len(second))
    return out
