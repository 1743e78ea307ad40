"""Continued BPE: learn new merges on top of an existing SentencePiece segmentation, the way SentencePiece will
apply them (highest priority first, old pieces before new ones), under a budget that counts every new entry.

Each step takes the action that saves the most tokens on the weighted words: merge the most frequent adjacent
pair (saves its count), or give a character the base spells in bytes a piece of its own (saves
`count * (utf8_len - 1)`); a pair with such a character waits until the character has its piece, because
tokenizers' BPE (tokenizer.json) cannot merge a byte-fallback character, while SentencePiece could.
"""

from __future__ import annotations

import heapq
import logging
from collections import defaultdict
from collections.abc import Sequence
from itertools import pairwise

log = logging.getLogger(__name__)

Word = tuple[list[str], int]  # (symbols, weight)


class ContinuedBPE:
    """Greedy merge learner over weighted, already segmented words, with positional bookkeeping so that a merge
    costs time in proportion to its occurrences, not to the corpus.

    >>> bpe = ContinuedBPE({"a": -1.0, "b": -2.0, "c": -3.0}, max_piece_chars=16)
    >>> bpe.learn([(["a", "b", "c"], 5), (["a", "b"], 2)], budget=2)
    ['ab', 'abc']
    """

    def __init__(
        self,
        base_pieces: dict[str, float],
        max_piece_chars: int = 16,
        forbid_digits: bool = False,
        min_frequency: int = 1,
        join_words: bool = False,
    ) -> None:
        self.rank: dict[str, tuple[int, float]] = {p: (0, -s) for p, s in base_pieces.items()}
        self.max_piece_chars = max_piece_chars
        self.forbid_digits = forbid_digits
        self.join_words = join_words  # may a piece hold ▁ inside (`▁blood▁pressure`): when the words are terms
        self.min_frequency = max(1, min_frequency)

    def learn(self, words: Sequence[Word], budget: int, pending: set[str] | None = None, progress: bool = False) -> list[str]:
        """The new entries, in the order they must get ids and (decreasing) scores."""
        self._load(words)
        self.pending = set(pending or ())
        self.parked: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.added: list[str] = []
        self.heap: list[tuple[int, str, str]] = [(-c, a, b) for (a, b), c in self.counts.items()]
        self._push_chars()
        heapq.heapify(self.heap)
        while len(self.added) < budget and self.heap:
            before = len(self.added)
            if not self._step():
                break
            if progress and len(self.added) != before and len(self.added) % 2000 == 0:
                log.info("continued BPE: %d / %d entries", len(self.added), budget)
        return self.added

    def _load(self, words: Sequence[Word]) -> None:
        """Lay all words out in one doubly linked array; index every adjacent pair by its left position."""
        self.sym: list[str | None] = []
        self.prev: list[int] = []
        self.next: list[int] = []
        self.weight: list[int] = []
        counts: dict[tuple[str, str], int] = defaultdict(int)
        where: dict[tuple[str, str], set[int]] = defaultdict(set)
        for symbols, weight in words:
            start, n = len(self.sym), len(symbols)
            self.sym.extend(symbols)
            self.prev.extend(range(start - 1, start + n - 1))
            self.next.extend(range(start + 1, start + n + 1))
            self.prev[start] = -1
            self.next[-1] = -1
            self.weight.extend([weight] * n)
            for k, pair in enumerate(pairwise(symbols), start):
                counts[pair] += weight
                where[pair].add(k)
        self.counts, self.where = counts, where

    def _push_chars(self) -> None:
        gain: dict[str, int] = defaultdict(int)
        for s, w in zip(self.sym, self.weight):
            if s in self.pending:
                gain[s] += w * (len(s.encode("utf-8")) - 1)
        self.heap.extend((-g, c, "") for c, g in gain.items())

    def _step(self) -> bool:
        """Pop the best action and take it; False when nothing left is worth an entry."""
        neg, a, b = heapq.heappop(self.heap)
        if -neg < self.min_frequency:
            return False
        if b == "":  # a byte-fallback character gets its own piece
            if a in self.pending:
                self.pending.discard(a)
                self.added.append(a)
                for pair in self.parked.pop(a, []):
                    heapq.heappush(self.heap, (-self.counts.get(pair, 0), *pair))
            return True
        count = self.counts.get((a, b), 0)
        if count != -neg:  # stale entry: re-queue with the true count
            if count > 0:
                heapq.heappush(self.heap, (-count, a, b))
            return True
        if a in self.pending or b in self.pending:
            self.parked[a if a in self.pending else b].append((a, b))
            return True
        if not self._allowed(a, b):
            return True
        merged = a + b
        if merged not in self.rank:  # a second split of an existing new piece costs nothing
            self.rank[merged] = (1, float(len(self.added)))
            self.added.append(merged)
        limit = self.rank[merged]
        touched: set[tuple[str, str]] = set()
        for i in sorted(self.where.pop((a, b), ())):
            j = self.next[i]
            if self.sym[i] == a and j != -1 and self.sym[j] == b:  # still there (overlaps: `a a a`)
                self._merge_at(i, limit, touched)
        for pair in touched:
            if pair in self.counts:
                heapq.heappush(self.heap, (-self.counts[pair], *pair))
        return True

    def _allowed(self, a: str, b: str) -> bool:
        merged = a + b
        if len(merged) > self.max_piece_chars or ("▁" in merged[1:] and not self.join_words):
            return False  # like SentencePiece's trainer: whitespace only as a word-initial marker
        return not (self.forbid_digits and any(ch.isdigit() for ch in merged))

    def _merge_at(self, i: int, limit: tuple[int, float], touched: set[tuple[str, str]]) -> None:
        """Merge the symbol at i with its right neighbour, then whatever SentencePiece would merge next there:
        a neighbouring pair forming a piece that outranks the current merge (an old piece, or an earlier one)."""
        sym, nxt, prv, counts, where = self.sym, self.next, self.prev, self.counts, self.where
        w = self.weight[i]  # one word, one weight
        while True:
            j = nxt[i]
            p, n = prv[i], nxt[j]
            a, b = sym[i], sym[j]
            before, after = sym[p] if p != -1 else None, sym[n] if n != -1 else None
            assert a is not None and b is not None  # linked slots are live: only a merged-away slot holds None
            old = [(a, b, i)]
            if before is not None:
                old.append((before, a, p))
            if after is not None:
                old.append((b, after, j))
            for x, y, pos in old:  # uncount the pairs this merge destroys
                pair = (x, y)
                left = counts[pair] - w
                if left > 0:
                    counts[pair] = left
                else:
                    del counts[pair]
                where[pair].discard(pos)
            merged = a + b
            sym[i], sym[j] = merged, None
            nxt[i] = n
            if n != -1:
                prv[n] = i
            for created, pos in (((before, merged), p) if before is not None else (None, -1),
                                 ((merged, after), i) if after is not None else (None, -1)):
                if created is not None:  # count the pairs it creates
                    counts[created] += w
                    where[created].add(pos)
                    touched.add(created)
            follow = self._outranking(p, i, limit)
            if follow is None:
                return
            i = follow

    def _outranking(self, p: int, i: int, limit: tuple[int, float]) -> int | None:
        best: tuple[tuple[int, float], int] | None = None
        for left in (p, i):
            if left == -1 or self.next[left] == -1:
                continue
            a, b = self.sym[left], self.sym[self.next[left]]
            assert a is not None and b is not None  # linked slots are live: only a merged-away slot holds None
            r = self.rank.get(a + b)
            if r is not None and r <= limit and (best is None or r < best[0]):
                best = (r, left)
        return None if best is None else best[1]
