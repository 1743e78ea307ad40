"""The vocabulary plan: which entries to add to the base tokenizer, in order, learned by continued BPE on the
corpus's units (`units`) and scored out of sample, with the tokens each saves.

Method. Start from the base tokenization of every distinct unit. Each step takes the action with the highest
score: merge the adjacent pair of symbols seen most often, or give a character the base spells in bytes a piece of
its own (SentencePiece; saves its extra tokens per occurrence). A pair's count is taken in each part of the
documents (A: even, B: odd); the default scoring (`both-parts`) counts a pair only where both parts hold it, so a
pair that one part alone repeats (a signature of one thread, a phrase of one document) never wins, while a pair
both parts use scores its count, as with plain BPE (`SCORING` lists the others). After a merge, a pair it
recreates that was learned earlier merges at once, as the tokenizer's merge loop (lowest rank first) does. Pairs across a boundary that term shape forbids are never counted, but a
chosen merge applies everywhere, as the extended tokenizer will apply it: the savings recorded per entry are
exactly those of the tokenizer the plan builds (`vocabx.extend` applies the plan as it is), so the projection of
chars/token after any prefix of the plan is the base tokens minus the savings so far.

The loop runs in the compiled kernel (`_learn.c`): a pair table with the words each pair occurs in, a lazy
max-heap of scores, words rewritten in place as merges apply.
"""

from __future__ import annotations

import logging

import numpy as np

from vocabx.analyze.kernels import native
from vocabx.analyze.plan import Plan, PlanEntry
from vocabx.analyze.units import Units

log = logging.getLogger(__name__)

MIN_SCORE = 2  # an entry must score at least this (plain BPE's min_frequency)
# How a pair's counts in the two parts make its score: `tokens` is plain BPE's count (A + B); `both-parts` counts a
# pair only where both parts of the documents hold it (what one part alone repeats never wins); `min` scores
# 2 * min(A, B), the strictest (all three measured on held-out text in bench/RESULTS.md).
SCORING = {"tokens": 0, "min": 1, "both-parts": 2}


def learn_plan(units: Units, budget: int, scoring: str = "both-parts", min_score: int = MIN_SCORE) -> Plan:
    """Up to `budget` entries learned on `units` (see the module docstring)."""
    left, right, sa, sb = native().learn_bpe(
        np.ascontiguousarray(units.sym, np.int32), np.ascontiguousarray(units.word_end, np.int64), np.ascontiguousarray(units.wa, np.int64),
        np.ascontiguousarray(units.wb, np.int64), np.ascontiguousarray(units.ok, np.uint8),
        np.ascontiguousarray(units.cost, np.int32), len(units.cost), int(budget), int(min_score), SCORING[scoring])
    rows = zip(*(np.frombuffer(x, t).tolist() for x, t in ((left, np.int32), (right, np.int32), (sa, np.int64),
                                                            (sb, np.int64))))
    names, spelled = list(units.strings), list(units.spellings)  # grown as merges make new symbols
    entries = []
    for a, b, x, y in rows:
        if b < 0:  # a character gets a piece of its own
            entries.append(PlanEntry(names[a], "", _text(spelled[a]), x, y))
            continue
        entries.append(PlanEntry(names[a], names[b], _text(spelled[a] + spelled[b]), x, y))
        names.append(names[a] + names[b])
        spelled.append(spelled[a] + spelled[b])
    base_a, base_b = units.base_tokens
    log.info("plan: %d entries learned (scoring %s)", len(entries), scoring)
    return Plan(entries, base_a + base_b, units.chars)


def _text(raw: bytes) -> str:
    """The text an entry stands for; bytes of an unfinished character (a byte-level intermediate) become U+FFFD."""
    return raw.decode("utf-8", "replace")
