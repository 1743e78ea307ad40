"""The fragmentation report (how badly the base tokenizer splits the corpus) and the projection of chars/token
after adding the top K terms, measured by re-tokenizing the corpus's distinct Han runs.

Projection method: the selection's cover after its first K Han terms (`Selection.cover_at`: the spans the greedy
gave each chosen term, nested spans inside the outer one) splits each distinct Han run (a run never spans two base
pre-tokens) into chosen terms, one token each, and gaps, each tokenized by the base model in context; a run costs
the smaller of that and its base in-context cost, since a real extended tokenizer (`vocabx extend`: new pieces
merge the base segmentation further) never spends more tokens than the base. Projected tokens = base tokens - the
weighted saving over the runs (scaled up when the runs are a sample of the corpus). Gap costs are cached across
budgets: the budgets are nested prefixes of one order, so most gaps recur. Chosen terms of other scripts save
freq * (base_tokens - 1) each.

Intermediates: a real extension must also make every character of a chosen term that the base splits (byte-level
pieces, byte fallback) a token of its own, so that the term's merges can be reached; such a character is then one
token everywhere, gaps included. A gap therefore costs the smaller of its base cost and the sum of its characters'
costs, with those characters at one token. Without this the projection underestimated the real extended tokenizer
by 12-38% (bench/bench_projection.py).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from vocabx.analyze.kernels import native
from vocabx.analyze.ngrams import HashIndex
from vocabx.analyze.occurrences import RunText
from vocabx.analyze.select import Cover, Selection, span_positions
from vocabx.analyze.spans import span_hash_tables, span_hashes
from vocabx.analyze.tokencount import TokenCounter

log = logging.getLogger(__name__)

BUDGETS = (1000, 2000, 5000, 10000, 20000)


@dataclass
class ProjectionPoint:
    """Tokens and chars/token of the corpus once the top `budget` terms are single tokens."""

    budget: int
    tokens: int
    chars_per_token: float
    entries: int = 0  # new vocabulary entries this needs: the terms plus the characters they make whole


@dataclass
class RunCosts:
    """What the projection needs from the base tokenizer before any term is chosen: in-context tokens of each
    distinct run and of each distinct character (`char_ids` maps run-text positions to those characters)."""

    base_cost: np.ndarray
    chars: np.ndarray
    char_ids: np.ndarray
    char_cost: np.ndarray


def run_costs(text: RunText, counter: TokenCounter) -> RunCosts:
    """Tokenize the distinct runs and characters (independent of the selection: computed alongside it)."""
    chars, char_ids = distinct_chars(text.cps)
    return RunCosts(counter.piece_counts(text.runs), chars, char_ids,
                    counter.piece_counts([chr(c) for c in chars.tolist()]).astype(np.float64))


def distinct_chars(cps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(cps, return_inverse=True)` for code points, by a presence table instead of a sort."""
    if not len(cps):
        return cps[:0].astype(np.int64), np.zeros(0, np.int64)
    present = np.zeros(int(cps.max()) + 1, dtype=bool)
    present[cps] = True
    rank = np.cumsum(present, dtype=np.int64) - 1
    return np.flatnonzero(present), rank[cps]


class Projector:
    """Weighted tokens of the distinct runs under a cover of chosen spans."""

    def __init__(self, text: RunText, counter: TokenCounter, costs: RunCosts | None = None) -> None:
        self.text = text
        self.counter = counter
        self.in_run = text.run_id >= 0
        self.joined = "\n".join(text.runs) + "\n"  # the string whose code points are `text.cps`
        self.known_keys = np.zeros(0, dtype=np.uint64)  # gap hashes already tokenized, sorted (see `_gap_costs`)
        self.known_cost = np.zeros(0)
        self.hash_tables = span_hash_tables(text.cps)  # one text, five budgets' gaps
        self.piece_keys = np.zeros(0, dtype=np.uint64)  # for the compiled path: piece hashes known, sorted
        self.piece_cost = np.zeros(0)
        self._learning = threading.Lock()  # budgets are projected in two threads; one learns pieces at a time
        self._kernels = native()
        if self._kernels is not None:
            self._cut = np.zeros(len(text.cps) + 1, dtype=np.uint8)  # safe cuts: where a gap splits into pieces
            if counter.safe is not None and len(text.cps) > 1:
                self._cut[1:-1] = counter.safe(text.cps)
            self._run_id = text.run_id.astype(np.int32)
            self._freq = text.freq.astype(np.float64)
        self._char_ids = np.zeros(0, dtype=np.int32)  # for the kernel, once the characters are known
        costs = costs or self._run_costs()
        self.base_cost = costs.base_cost  # in-context tokens of each distinct run
        self.char_ids, self.char_cost = costs.char_ids, costs.char_cost
        self._char_ids = self.char_ids.astype(np.int32)
        self.chars = costs.chars

    def _run_costs(self) -> RunCosts:
        """`run_costs`; with the kernels, the runs' costs come from a pass with no span taken (each run one gap,
        the same pieces `piece_counts` would cut), which also learns every piece cost the projection reuses."""
        if self._kernels is None:
            return run_costs(self.text, self.counter)
        chars, char_ids = distinct_chars(self.text.cps)
        base = np.zeros(len(self.text.runs))
        none = np.zeros(0, dtype=np.int64)
        self._project(none, none, none, 0, np.zeros(0), np.full(len(base), np.inf), base)
        char_cost = self.counter.piece_counts([chr(c) for c in chars.tolist()]).astype(np.float64)
        return RunCosts(base.astype(np.int64), chars, char_ids, char_cost)

    def whole_chars(self, terms: Sequence[str]) -> np.ndarray:
        """Mask over the distinct characters: those of `terms` that the base splits into more than one token."""
        return self.first_use(terms) < len(terms)

    def first_use(self, terms: Sequence[str]) -> np.ndarray:
        """Per distinct character the index of the first of `terms` holding it, if the base splits it into more
        than one token (else len(terms)): `< k` marks the characters the first k terms make whole."""
        first = np.full(len(self.char_cost), len(terms), dtype=np.int64)
        if terms:
            owner = np.repeat(np.arange(len(terms)), np.fromiter(map(len, terms), dtype=np.int64, count=len(terms)))
            chars = np.frombuffer("".join(terms).encode("utf-32-le"), dtype=np.uint32)
            known = np.searchsorted(self.chars, chars).clip(0, max(len(self.chars) - 1, 0))
            hit = self.chars[known] == chars if len(self.chars) else np.zeros(len(chars), bool)
            np.minimum.at(first, known[hit], owner[hit])  # the first term holding each character (no sort)
        return np.where(self.char_cost > 1, first, len(terms))

    def base_tokens(self) -> int:
        return int((self.base_cost * self.text.freq).sum())

    def han_tokens(self, cover: Cover, whole: np.ndarray | None = None) -> int:
        """Weighted tokens of all runs when the spans of `cover` are single tokens (never above a run's base) and
        the characters marked in `whole` are one token each."""
        return self.han_tokens_many([cover], [whole])[0]

    def han_tokens_many(self, covers: Sequence[Cover], wholes: Sequence[np.ndarray | None]) -> list[int]:
        """`han_tokens` of several covers, with the gaps of all of them tokenized in one call."""
        if self._kernels is not None:  # a cover's spans are all outermost: every one is taken (rank 0 < 1)
            return [self._han_tokens_native(cover.starts, cover.lengths, np.zeros(len(cover.starts), np.int64),
                                            1, whole) for cover, whole in zip(covers, wholes)]
        text = self.text
        gaps = []
        for cover in covers:
            gap = self.in_run.copy()
            gap[span_positions(cover.starts, cover.lengths)] = False
            edge = np.diff(np.concatenate([[0], gap.view(np.int8), [0]]))
            gaps.append((np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)))
        bounds = np.cumsum([0] + [len(g_start) for g_start, _ in gaps])
        all_costs = self._gap_costs(np.concatenate([g[0] for g in gaps]), np.concatenate([g[1] for g in gaps]))
        runs = len(text.runs)
        totals = []
        for i, (cover, whole, (g_start, g_end)) in enumerate(zip(covers, wholes, gaps)):
            cost = all_costs[bounds[i] : bounds[i + 1]]
            if whole is not None and whole.any():
                per_char = np.where(whole, 1.0, self.char_cost)[self.char_ids]
                csum = np.concatenate([[0.0], np.cumsum(per_char)])
                cost = np.minimum(cost, csum[g_end] - csum[g_start])
            per_run = np.bincount(text.run_id[cover.starts], minlength=runs).astype(np.float64)
            per_run += np.bincount(text.run_id[g_start], weights=cost, minlength=runs)
            per_run = np.minimum(per_run, self.base_cost)
            totals.append(int((per_run * text.freq).sum()))
        return totals

    def han_tokens_at(self, selection: Selection, ks: Sequence[int], wholes: Sequence[np.ndarray | None]) -> list[int]:
        """`han_tokens` of the selection's cover after each of its first `ks` terms."""
        if self._kernels is None:
            return self.han_tokens_many([selection.cover_at(k) for k in ks], wholes)
        pos, length, rank = selection.spans_by_start()
        if len(ks) < 2:
            return [self._han_tokens_native(pos, length, rank, k, whole) for k, whole in zip(ks, wholes)]
        # The passes run in the kernel with the GIL released: two threads take the budgets in turn.
        with ThreadPoolExecutor(2) as pool:
            return list(pool.map(lambda kw: self._han_tokens_native(pos, length, rank, *kw), zip(ks, wholes)))

    def _han_tokens_native(self, starts: np.ndarray, lengths: np.ndarray, ranks: np.ndarray, k: int,
                           whole: np.ndarray | None) -> int:
        """`han_tokens` by the compiled kernel: one pass over the run text, each gap cut at the tokenizer's safe
        boundaries into pieces whose costs are looked up by hash; pieces not seen yet are tokenized (as strings,
        once each) and the pass repeated."""
        unit = np.zeros(0)  # per distinct character: 1 where made whole, else its cost (the kernel sums over gaps)
        if whole is not None and whole.any():
            unit = np.where(whole, 1.0, self.char_cost)
        starts, lengths, ranks = (np.ascontiguousarray(x, dtype=np.int64) for x in (starts, lengths, ranks))
        return int(self._project(starts, lengths, ranks, k, unit, self.base_cost.astype(np.float64), np.zeros(0)))

    def _project(self, starts: np.ndarray, lengths: np.ndarray, ranks: np.ndarray, k: int, unit: np.ndarray,
                 base: np.ndarray, run_cost: np.ndarray) -> float:
        """One `project_cover` pass, tokenizing the pieces it has not seen and passing again if there were any."""
        prefix, powers = self.hash_tables
        for _ in range(2):
            tokens, keys, a, b = self._kernels.project_cover(self._run_id, self._cut, starts, lengths, ranks, k,
                                                             prefix, powers, self.piece_keys, self.piece_cost,
                                                             self._char_ids, unit,
                                                             base, self._freq, run_cost)
            if not keys:
                return tokens
            self._learn_pieces(np.frombuffer(keys, dtype=np.uint64), np.frombuffer(a, dtype=np.int64),
                               np.frombuffer(b, dtype=np.int64))
        raise RuntimeError("projection: piece costs still missing after tokenizing them")

    def _learn_pieces(self, keys: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
        """Tokenize the distinct pieces among `keys` (spans of the run text) not known yet and keep their costs by
        key (under a lock: another budget's thread may have learned some of them meanwhile)."""
        with self._learning:
            self._learn_new(keys, starts, ends)

    def _learn_new(self, keys: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
        uniq, first = np.unique(keys, return_index=True)  # distinct already; sorted here
        if len(self.piece_keys):
            at = np.searchsorted(self.piece_keys, uniq).clip(0, len(self.piece_keys) - 1)
            fresh = self.piece_keys[at] != uniq
            uniq, first = uniq[fresh], first[fresh]
        pieces = [self.joined[x:y] for x, y in zip(starts[first].tolist(), ends[first].tolist())]
        cost = self.counter.piece_counts(pieces).astype(np.float64)
        slot = np.searchsorted(self.piece_keys, uniq)  # both sorted: insert instead of re-sorting
        self.piece_keys = np.insert(self.piece_keys, slot, uniq)
        self.piece_cost = np.insert(self.piece_cost, slot, cost)

    def _gap_costs(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """In-context tokens of each gap, tokenizing each distinct gap string once over all budgets (their covers
        are nested, so most gaps of one budget recur in the next): known gap hashes stay sorted with their costs."""
        if not len(starts):
            return np.zeros(0)
        keys = span_hashes(self.text.cps, starts, ends, self.hash_tables)
        sorted_keys = np.sort(keys)  # sort values, not indices; a hash lookup gives the inverse
        distinct = np.ones(len(keys), dtype=bool)
        distinct[1:] = sorted_keys[1:] != sorted_keys[:-1]
        uniq = sorted_keys[distinct]
        inv = HashIndex(uniq).lookup(keys)
        first = np.empty(len(uniq), dtype=np.int64)
        first[inv] = np.arange(len(keys))  # any occurrence of a gap string will do
        at = np.searchsorted(self.known_keys, uniq).clip(0, max(len(self.known_keys) - 1, 0))
        hit = self.known_keys[at] == uniq if len(self.known_keys) else np.zeros(len(uniq), bool)
        cost = np.zeros(len(uniq))
        cost[hit] = self.known_cost[at[hit]]
        new = np.flatnonzero(~hit)
        joined = self.joined
        pieces = [joined[a:b] for a, b in zip(starts[first[new]].tolist(), ends[first[new]].tolist())]
        cost[new] = self.counter.piece_counts(pieces)
        slot = np.searchsorted(self.known_keys, uniq[new])  # both sorted: insert instead of re-sorting
        self.known_keys = np.insert(self.known_keys, slot, uniq[new])
        self.known_cost = np.insert(self.known_cost, slot, cost[new])
        return cost[inv]


def project(projector: Projector, selection: Selection, other_savings: np.ndarray, is_han: np.ndarray,
            base_tokens: int, chars: int, scale: float, budgets: Sequence[int] = BUDGETS,
            terms: Sequence[str] = ()) -> list[ProjectionPoint]:
    """chars/token for each budget (capped at the number of candidates). `is_han`, `other_savings`, `terms`: per
    term of the final order, whose Han terms are the selection order (so a prefix of it at any K)."""
    base_han = projector.base_tokens()
    points = []
    caps = sorted({min(b, len(is_han)) for b in budgets if len(is_han)})
    first_use = projector.first_use([t for t, h in zip(terms, is_han) if h]) if len(terms) else None
    han_ks = [int(is_han[:k].sum()) for k in caps]
    wholes = [first_use < han_k if first_use is not None else None for han_k in han_ks]
    han_tokens = projector.han_tokens_at(selection, han_ks, wholes)
    for k, whole, han_tokens_k in zip(caps, wholes, han_tokens):
        saved = (base_han - han_tokens_k) * scale
        saved += float(other_savings[:k][~is_han[:k]].sum())
        tokens = max(int(round(base_tokens - saved)), 1)
        entries = k + (int(whole.sum()) if whole is not None else 0)
        points.append(ProjectionPoint(k, tokens, round(chars / tokens, 4), entries))
        log.info("projection: top %d terms -> %d tokens (%.3f chars/token)", k, tokens, chars / tokens)
    return points


def word_fertility(words: Counter[str], counter: TokenCounter) -> tuple[float, float, int]:
    """(tokens per word, share of words split into more than one token, words) over the segmenter's words,
    each word tokenized in context."""
    types = list(words)
    if not types:
        return 0.0, 0.0, 0
    freq = np.fromiter(words.values(), dtype=np.float64, count=len(types))
    tokens = counter.piece_counts(types)
    total = freq.sum()
    return float((freq * tokens).sum() / total), float(freq[tokens > 1].sum() / total), int(total)
