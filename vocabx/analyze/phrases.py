"""Multi-word terms in text that puts spaces between words (English and other non-Han scripts): word n-grams
(`blood pressure`, `heart rate`) that are cohesive (PMI of their weakest split) and free on both sides (branching
entropy of the neighbouring words), kept only where the tokenizer can make one token of them.

What each family can do: SentencePiece BPE (Llama-2, Mistral) merges across `▁` wherever a piece exists, so a
phrase can be one piece (`▁blood▁pressure`). Byte-level BPE (GPT-2, SmolLM2, Qwen) and WordPiece (BERT) split at
every space before their model runs; no merge or entry can span two words there without changing the
pre-tokenizer (which would change the base tokenization), so no phrase is proposed and the count of cohesive
phrases lost that way is reported (`multiword_crosses_boundary`).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable

import numpy as np
import regex

from vocabx.adapters import TokenizerAdapter
from vocabx.analyze.candidates import Candidates, is_free

log = logging.getLogger(__name__)

MAX_WORDS = 3  # longer phrases are rare enough that their counts say little
# A phrase may not start or end with one of the corpus's most frequent words: those are its function words
# (`the`, `of`, `is` in English; whatever they are in another language), and `the state`, `such as` or `in
# Alabama` are cohesive but no terms. `United States` stays, `the United States` goes. The 100 most frequent,
# or one word in 20 of a small vocabulary.
EDGE_WORDS, EDGE_SHARE = 100, 20
# Runs of words joined by single spaces; punctuation, digits and line ends break a run (no phrase spans them).
_RUN = regex.compile(r"\p{L}[\p{L}\p{M}'’\-]*(?: \p{L}[\p{L}\p{M}'’\-]*)*")
_EDGE = "\x00"  # the neighbour of a phrase at the edge of its run, for the branching entropy
SOURCE = "phrase"


def count_phrases(texts: Iterable[str], max_chars: int) -> tuple[Counter[tuple[str, ...]], Counter, Counter, int]:
    """Word n-gram counts (n = 1..MAX_WORDS) over the first `max_chars` characters, the left and right neighbour
    counts of each n >= 2 gram, and the number of words. `"high blood pressure"` counts `(blood, pressure)` once
    with left neighbour `high` and right neighbour the run's edge."""
    grams: Counter[tuple[str, ...]] = Counter()
    left: Counter[tuple[tuple[str, ...], str]] = Counter()
    right: Counter[tuple[tuple[str, ...], str]] = Counter()
    words_seen = chars = 0
    for text in texts:
        for run in _RUN.findall(text):
            words = run.split(" ")
            words_seen += len(words)
            for n in range(1, MAX_WORDS + 1):
                for i in range(len(words) - n + 1):
                    gram = tuple(words[i : i + n])
                    grams[gram] += 1
                    if n > 1:
                        left[gram, words[i - 1] if i else _EDGE] += 1
                        right[gram, words[i + n] if i + n < len(words) else _EDGE] += 1
        chars += len(text)
        if chars >= max_chars:
            break
    return grams, left, right, words_seen


def phrase_candidates(texts: Iterable[str], adapter: TokenizerAdapter, min_freq: int, min_cohesion: float,
                      min_entropy: float, skipped: Counter[str], max_chars: int = 10_000_000) -> Candidates:
    """Cohesive, free phrases seen `min_freq` times that one token of `adapter` can cover and that it now spends
    more than one token on; the others are counted in `skipped` by reason."""
    grams, left, right, total = count_phrases(texts, max_chars)
    found = [g for g, c in grams.items() if len(g) > 1 and c >= min_freq]
    common = _function_words(grams)
    edged = [g for g in found if g[0].casefold() in common or g[-1].casefold() in common]
    skipped["multiword_function_word_edge"] += len(edged)
    found = [g for g in found if g[0].casefold() not in common and g[-1].casefold() not in common]
    pmi = {g: _weakest_split(g, grams, total) for g in found}
    cohesive = [g for g in found if pmi[g] >= min_cohesion]
    entropies = _entropies(cohesive, left, right)
    text_of = {g: " ".join(g) for g in cohesive}
    kept, dropped = [], 0
    for g in cohesive:
        if adapter.crosses_boundary(text_of[g]):
            dropped += 1
        else:
            kept.append(g)
    if dropped:
        skipped["multiword_crosses_boundary"] += dropped
        log.info("%d cohesive phrases cannot be one %s token (its pre-tokenizer splits at spaces)", dropped,
                 adapter.family)
    terms = [text_of[g] for g in kept]
    freq = np.array([grams[g] for g in kept], dtype=np.int64)
    lefts = np.array([entropies[g][0] for g in kept], dtype=float)
    rights = np.array([entropies[g][1] for g in kept], dtype=float)
    base = np.array([len(ids) for ids in adapter.encode_batch(terms)], dtype=np.int64) if terms else np.zeros(0, np.int64)
    cands = Candidates(terms, freq, freq.copy(), np.array([pmi[g] for g in kept], dtype=float), lefts, rights,
                       [SOURCE] * len(terms), base)
    free = is_free(cands, min_entropy) & (base > 1)
    skipped["multiword_not_free_or_single_token"] += int((~free).sum())
    return cands.take(np.flatnonzero(free))


def _function_words(grams: Counter[tuple[str, ...]]) -> set[str]:
    """The EDGE_WORDS most frequent words of the corpus, case-folded."""
    words: Counter[str] = Counter()
    for gram, count in grams.items():
        if len(gram) == 1:
            words[gram[0].casefold()] += count
    return {w for w, _ in words.most_common(min(EDGE_WORDS, len(words) // EDGE_SHARE))}


def _weakest_split(gram: tuple[str, ...], grams: Counter[tuple[str, ...]], total: int) -> float:
    """PMI of the split that explains the phrase best: log(p(ab) / (p(a) p(b))), minimised over the cut."""
    joint = grams[gram] / total
    return min(math.log(joint / ((grams[gram[:cut]] / total) * (grams[gram[cut:]] / total)))
               for cut in range(1, len(gram)))


def _entropies(grams: list[tuple[str, ...]], left: Counter, right: Counter) -> dict[tuple[str, ...], tuple[float, float]]:
    """Branching entropy (nats) of the left and right neighbours of each phrase."""
    sides: dict[tuple[str, ...], tuple[list[int], list[int]]] = {g: ([], []) for g in grams}
    for table, side in ((left, 0), (right, 1)):
        for (gram, neighbour), count in table.items():
            if gram in sides:  # each edge of a run counts as a neighbour of its own (punctuation differs)
                sides[gram][side].extend([1] * count if neighbour == _EDGE else [count])
    return {g: (_entropy(ls), _entropy(rs)) for g, (ls, rs) in sides.items()}


def _entropy(counts: list[int]) -> float:
    total = sum(counts)
    return -sum(c / total * math.log(c / total) for c in counts) if total else 0.0
