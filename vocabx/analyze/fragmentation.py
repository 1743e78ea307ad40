"""The fragmentation report (how badly the base tokenizer splits the corpus) and the projection of chars/token
after adding the top K terms, measured by re-tokenizing the corpus's Han runs.

Projection method: inside each distinct Han run (a run never spans two base pre-tokens), the chosen terms are
matched longest-first from left to right; every gap between matches is tokenized by the base model in context
(`PieceEncoder`). A run's saving is its base in-context cost minus (matches + gap tokens), times its frequency;
projected tokens = base tokens - total saving (scaled up when the runs are a sample of the corpus). Chosen terms
of other scripts save freq * (base_tokens - 1) each.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vocabx.analyze.occurrences import RunText
from vocabx.analyze.pieces import PieceEncoder

log = logging.getLogger(__name__)

BUDGETS = (1000, 2000, 5000, 10000, 20000)


@dataclass
class ProjectionPoint:
    """Tokens and chars/token of the corpus once the top `budget` terms are single tokens."""

    budget: int
    tokens: int
    chars_per_token: float


@dataclass
class Projector:
    """Re-tokenizes the run text under a set of chosen terms; caches gap costs across budgets."""

    text: RunText
    hashes: dict[int, np.ndarray]
    encoder: PieceEncoder
    cache: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._joined = "\n".join(self.text.runs) + "\n"
        self._in_run = self.text.run_id >= 0

    def han_tokens(self, terms: Sequence[str]) -> int:
        """Weighted tokens of all runs when `terms` (Han strings) are single tokens."""
        longest = self._longest_match(terms)
        starts = self._segment_starts(longest)
        weight = self.text.weight
        term_tokens = int(weight[starts & (longest >= 2)].sum())
        gap = np.flatnonzero(starts & (longest < 2) & self._in_run)
        if not len(gap):
            return term_tokens
        new_piece = np.ones(len(gap), dtype=bool)
        new_piece[1:] = gap[1:] != gap[:-1] + 1
        piece_start = gap[new_piece]
        piece_end = np.append(gap[np.flatnonzero(new_piece)[1:] - 1], gap[-1]) + 1
        pieces = [self._joined[s:e] for s, e in zip(piece_start.tolist(), piece_end.tolist())]
        costs = self._gap_costs(pieces)
        return term_tokens + int((costs * weight[piece_start]).sum())

    def _gap_costs(self, pieces: list[str]) -> np.ndarray:
        missing = list({p for p in pieces if p not in self.cache})
        if missing:
            self.cache.update(zip(missing, self.encoder.count(missing).tolist()))
        cache = self.cache
        return np.fromiter((cache[p] for p in pieces), dtype=np.int64, count=len(pieces))

    def _longest_match(self, terms: Sequence[str]) -> np.ndarray:
        """Length of the longest chosen term starting at each position (0 where none)."""
        from vocabx.analyze.ngrams import hash_strings

        longest = np.zeros(len(self.text.cps), dtype=np.int64)
        by_len: dict[int, list[str]] = {}
        for term in terms:
            by_len.setdefault(len(term), []).append(term)
        for n in sorted(by_len, reverse=True):
            if n not in self.hashes:
                continue
            keys = np.sort(hash_strings(by_len[n]))
            h = self.hashes[n]
            idx = np.searchsorted(keys, h).clip(0, len(keys) - 1)
            hit = (keys[idx] == h) & (self.text.remaining >= n) & (longest == 0)
            longest[hit] = n
        return longest

    def _segment_starts(self, longest: np.ndarray) -> np.ndarray:
        """Positions where a left-to-right segment starts: reachable from a run start by jumps of the match
        length (1 for an unmatched character), found by pointer doubling instead of a Python walk."""
        size = len(longest)
        jump = np.arange(size) + np.maximum(longest, 1)
        jump = np.where(self._in_run, jump, np.arange(size)).clip(0, size - 1)  # separators are fixed points
        reach = np.zeros(size, dtype=bool)
        reach[self.text.starts] = True
        longest_run = int(self.text.remaining.max()) if size else 0
        for _ in range(max(longest_run, 1).bit_length() + 1):
            reach[jump[reach]] = True
            jump = jump[jump]
        return reach & self._in_run


def project(projector: Projector, ranked_terms: Sequence[str], other_savings: np.ndarray, is_han: np.ndarray,
            base_tokens: int, chars: int, scale: float, budgets: Sequence[int] = BUDGETS) -> list[ProjectionPoint]:
    """chars/token for each budget (capped at the number of candidates; duplicates removed)."""
    base_han = projector.han_tokens([])
    points = []
    caps = sorted({min(b, len(ranked_terms)) for b in budgets if len(ranked_terms)})
    for k in caps:
        han_terms = [t for t, h in zip(ranked_terms[:k], is_han[:k]) if h]
        saved = (base_han - projector.han_tokens(han_terms)) * scale + float(other_savings[:k][~is_han[:k]].sum())
        tokens = max(int(round(base_tokens - saved)), 1)
        points.append(ProjectionPoint(k, tokens, round(chars / tokens, 4)))
        log.info("projection: top %d terms -> %d tokens (%.3f chars/token)", k, tokens, chars / tokens)
    return points


def word_fertility(words: Counter[str], encoder: PieceEncoder) -> tuple[float, float, int]:
    """(tokens per word, share of words split into more than one token, words) over the segmenter's words,
    each word tokenized in context."""
    types = list(words)
    if not types:
        return 0.0, 0.0, 0
    freq = np.fromiter(words.values(), dtype=np.float64, count=len(types))
    tokens = encoder.count(types)
    total = freq.sum()
    return float((freq * tokens).sum() / total), float(freq[tokens > 1].sum() / total), int(total)
