"""Candidate terms and their scores, for the termhood ranking people review: Han n-grams that pass new-word
discovery (cohesion and branching entropy) or that the segmenter produced, segmenter words of other scripts, and
mixed-script terms (a Latin piece with adjacent Han words: MIMO雷达); filtered against the base tokenizer, with
every skip counted by reason."""

from __future__ import annotations

import logging
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import regex

from vocabx.adapters import TokenizerAdapter
from vocabx.analyze.ngrams import HashIndex, NgramCounts, hash_strings
from vocabx.analyze.segment import han_texts, texts_where
from vocabx.analyze.stats import branching_entropy, cohesion
from vocabx.analyze.tokencount import TokenCounter

log = logging.getLogger(__name__)

LETTER = regex.compile(r"\p{L}")
MAX_WORD_CHARS = 32  # words of space-delimited scripts; `max_len` bounds Han terms, which have no spaces
# A discovered n-gram must start and end on word boundaries in most occurrences: 器网络 (from 传感器/网络) never
# does, 卷积神经网络 (卷积/神经网络) always does. Half tolerates segmenter errors on unknown words.
MIN_ALIGNED = 0.5
# Share of the maximum entropy log(freq) that counts as free for rare n-grams (see `han_candidates`).
ENTROPY_SHARE = 0.9
COMMON_HAN_RANGE = (0x4E00, 0x9FA5)  # CJK unified ideographs of GB 13000 / Unicode 1.1: all letters
SKIP_REASONS = ("single_token", "digits_or_punct", "whitespace_or_control")


@dataclass
class Candidates:
    """Parallel columns, one row per candidate term."""

    terms: list[str]
    freq: np.ndarray
    doc_freq: np.ndarray
    cohesion: np.ndarray
    left_entropy: np.ndarray
    right_entropy: np.ndarray
    source: list[str]
    base_tokens: np.ndarray

    def take(self, idx: np.ndarray) -> Candidates:
        return Candidates([self.terms[i] for i in idx], self.freq[idx], self.doc_freq[idx], self.cohesion[idx],
                          self.left_entropy[idx], self.right_entropy[idx], [self.source[i] for i in idx],
                          self.base_tokens[idx])

    def __len__(self) -> int:
        return len(self.terms)


def han_candidates(ngrams: NgramCounts, words: Counter[str], min_freq: int, max_len: int, min_cohesion: float,
                   min_entropy: float, word_label: str) -> Candidates:
    """Han n-grams of 2..max_len characters seen `min_freq` times that are cohesive, free on both sides and
    mostly aligned with segmenter word boundaries (source `ngram`: phrases of adjacent words such as 卷积/神经网络,
    or words the dictionary lacks), or that the segmenter output at least `min_freq` times (source `jieba`).

    Freedom is branching entropy >= min(min_entropy, ENTROPY_SHARE * log(freq)): an n-gram seen f times has at
    most log(f) nats of neighbour entropy, so a fixed threshold would reject every rare term outright."""
    cols: dict[str, list] = {k: [] for k in ("terms", "freq", "df", "coh", "le", "re", "src")}
    frequent = _frequent_word_keys(words, min_freq, max_len)
    for n in range(2, max_len + 1):
        table = ngrams.tables[n]
        rows = np.flatnonzero(table.counts >= min_freq)
        if not len(rows):
            continue
        coh = cohesion(ngrams, n, rows)
        left, right = (side[rows] for side in branching_entropy(ngrams, n))
        freq = table.counts[rows]
        free = np.minimum(left, right) >= np.minimum(min_entropy, ENTROPY_SHARE * np.log(freq))  # see is_free
        assert table.aligned is not None  # NgramTable.__post_init__ fills it in
        aligned = table.aligned[rows] >= MIN_ALIGNED * freq
        discovered = (coh >= min_cohesion) & free & aligned
        segmented = HashIndex(frequent[n]).lookup(table.keys[rows]) >= 0 if n in frequent else np.zeros(len(rows), bool)
        keep = np.flatnonzero(discovered | segmented)
        label = np.where(discovered & segmented, "both", np.where(discovered, "ngram", word_label))
        cols["terms"] += table.strings(rows[keep])
        cols["src"] += label[keep].tolist()
        for key, values in (("freq", table.counts[rows]), ("df", table.doc_freq[rows]), ("coh", coh),
                            ("le", left), ("re", right)):
            cols[key].append(values[keep])

    def cat(k: str, dt: Any) -> np.ndarray:
        return np.concatenate(cols[k]).astype(dt) if cols[k] else np.zeros(0, dt)

    return Candidates(cols["terms"], cat("freq", np.int64), cat("df", np.int64), cat("coh", float), cat("le", float),
                      cat("re", float), cols["src"], np.zeros(len(cols["terms"]), np.int64))


def _frequent_word_keys(words: Counter[str], min_freq: int, max_len: int) -> dict[int, np.ndarray]:
    """Hashes (the n-gram tables' keys) of the segmenter's words seen `min_freq` times, by length 2..max_len:
    an n-gram with its key among them is a frequent word itself (one lookup per table instead of a dict probe
    per n-gram)."""
    by_len: dict[int, list[str]] = {}
    for word, count in words.items():
        if count >= min_freq and 2 <= len(word) <= max_len:
            by_len.setdefault(len(word), []).append(word)
    return {n: hash_strings(ws) for n, ws in by_len.items()}


def is_free(cands: Candidates, min_entropy: float) -> np.ndarray:
    """Branching entropy on both sides >= min(min_entropy, ENTROPY_SHARE * log(freq)); True where not measured."""
    need = np.minimum(min_entropy, ENTROPY_SHARE * np.log(np.maximum(cands.freq, 1)))
    side = np.fmin(cands.left_entropy, cands.right_entropy)
    return np.isnan(side) | (side >= need)


def word_candidates(words: Counter[str], word_docs: Counter[str], min_freq: int, word_label: str) -> Candidates:
    """Segmenter words that are not pure Han (Latin, Cyrillic, mixed `CT值`), seen at least `min_freq` times."""
    frequent = [w for w, c in words.items() if c >= min_freq and len(w) <= MAX_WORD_CHARS]
    terms = [w for w, han in zip(frequent, han_texts(frequent).tolist()) if not han]
    nan = np.full(len(terms), np.nan)
    return Candidates(terms, np.array([words[t] for t in terms], dtype=np.int64),
                      np.array([word_docs.get(t, 0) for t in terms], dtype=np.int64), nan, nan.copy(), nan.copy(),
                      [word_label] * len(terms), np.zeros(len(terms), np.int64))


ALNUM_PIECE = regex.compile(r"[A-Za-z][A-Za-z0-9]*|[0-9]+[A-Za-z][A-Za-z0-9]*")  # MIMO, Rg1, 94GHz; not bare numbers
# Mixed-script terms join a Latin piece to one or two Han words on either side: MIMO雷达, PDF模型, 人参皂苷Rg1.
MIXED_SHAPES = ((0, 1), (0, 2), (1, 0), (2, 0))  # (Han words before, Han words after) the Latin piece


def mixed_candidates(chunks: Iterable[list[str]], min_freq: int, known: Counter[str]) -> Candidates:
    """Terms of a Latin piece and adjacent Han words of jieba's segmentation (`MIXED_SHAPES`), seen `min_freq`
    times and not among the `known` words: the segmenter cuts them apart (双基地/MIMO/雷达), and the Han n-grams
    never hold Latin letters. Strings are made for the windows around Latin pieces only. The documents come in
    chunks (`Corpus.batches(MIXED_CHUNK_CHARS)`; no term crosses a document), so the arrays stay small whatever the
    corpus; the terms come in the order of a single pass (shape by shape, then by first occurrence)."""
    by_shape: list[Counter[str]] = [Counter() for _ in MIXED_SHAPES]
    docs: dict[str, set[int]] = {}
    first_doc = 0
    for chunk in chunks:
        _count_mixed(chunk, first_doc, by_shape, docs)
        first_doc += len(chunk)
    counts: Counter[str] = Counter()
    for shape in by_shape:
        counts.update(shape)
    terms = [t for t, c in counts.items() if c >= min_freq and t not in known and len(t) <= MAX_WORD_CHARS]
    nan = np.full(len(terms), np.nan)
    return Candidates(terms, np.array([counts[t] for t in terms], dtype=np.int64),
                      np.array([len(docs[t]) for t in terms], dtype=np.int64), nan, nan.copy(), nan.copy(),
                      ["mixed"] * len(terms), np.zeros(len(terms), np.int64))


MIXED_CHUNK_CHARS = 1 << 22  # characters per chunk of mixed_candidates: its arrays take about 40 bytes a character


def _count_mixed(texts: list[str], first_doc: int, by_shape: list[Counter[str]], docs: dict[str, set[int]]) -> None:
    """Add the mixed-script windows of `texts` (documents `first_doc`, `first_doc + 1`, ...) to the counts of
    their shape and to `docs`."""
    from vocabx.analyze.jiebacut import jieba_model
    from vocabx.analyze.segment import han_mask

    joined = "\n".join(texts) + "\n"
    cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    _, lengths = jieba_model().cut_texts([joined])
    ends = np.cumsum(lengths.astype(np.int64))
    starts = ends - lengths
    han_before = np.concatenate([[0], np.cumsum(han_mask(cps), dtype=np.int32)])
    han = (han_before[ends] - han_before[starts]) == lengths  # pieces of Han characters only
    doc = first_doc + np.cumsum(cps == 10, dtype=np.int32)[starts]  # a newline ends every document
    ascii_alnum = (cps[starts] < 128) & np.isin(cps[starts] | 0x20, np.arange(ord("a"), ord("z") + 1)) | (
        (cps[starts] >= ord("0")) & (cps[starts] <= ord("9")))
    latin = np.array([i for i in np.flatnonzero(ascii_alnum).tolist()
                      if ALNUM_PIECE.fullmatch(joined[starts[i] : ends[i]])], dtype=np.int64)
    for (before, after), counts in zip(MIXED_SHAPES, by_shape):
        first, last = latin - before, latin + after
        ok = (first >= 0) & (last < len(starts))
        for i, j, k in zip(first[ok].tolist(), last[ok].tolist(), latin[ok].tolist()):
            if doc[i] == doc[j] and all(han[m] for m in range(i, j + 1) if m != k):
                term = joined[starts[i] : ends[j]]
                counts[term] += 1
                docs.setdefault(term, set()).add(int(doc[i]))


def concat(parts: list[Candidates]) -> Candidates:
    def column(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts])

    return Candidates([t for p in parts for t in p.terms], column("freq"), column("doc_freq"), column("cohesion"),
                      column("left_entropy"), column("right_entropy"), [s for p in parts for s in p.source],
                      column("base_tokens"))


def skip_reason(term: str) -> str | None:
    """Why a string can never be a useful new token, independent of the tokenizer (None if it can be)."""
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in term):
        return "whitespace_or_control"
    if not LETTER.search(term):  # digits, numerals (Ⅵ), punctuation: no letter, no term
        return "digits_or_punct"
    return None


def filter_for_tokenizer(cands: Candidates, adapter: TokenizerAdapter, counter: TokenCounter,
                         skipped: Counter[str], noted: Counter[str]) -> Candidates:
    """Drop what cannot be a term for this tokenizer: whitespace/control, digits/punctuation, strings already one
    token. Strings spanning two base pre-tokens (`MIMO雷达` where a tokenizer splits scripts) stay, for the people
    who review terms, and are counted in `noted["crosses_boundary"]`: no new token can hold them (the plan never
    learns them). Fills `base_tokens` (tokens spent in context, piece by piece) and `skipped`."""
    terms = cands.terms
    # Terms of common ideographs (letters, Lo: no space or control) need only the boundary check, and pre-tokenizers
    # split on character classes, so its answer depends on their length alone: asked once per length.
    common = texts_where(terms, lambda cps: (cps >= COMMON_HAN_RANGE[0]) & (cps <= COMMON_HAN_RANGE[1]))
    lengths = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
    keep = common.copy()
    firsts = np.unique(lengths[common], return_index=True)[1]
    for i in np.flatnonzero(common)[firsts].tolist():
        if adapter.crosses_boundary(terms[i]):
            noted["crosses_boundary"] += int((common & (lengths == len(terms[i]))).sum())
    for i in np.flatnonzero(~common).tolist():
        term = terms[i]
        reason = skip_reason(term)
        if reason:
            skipped[reason] += 1
            continue
        keep[i] = True
        noted["crosses_boundary"] += adapter.crosses_boundary(term)
    cands = cands.take(np.flatnonzero(keep))
    cands.base_tokens = counter.piece_counts(cands.terms)
    single = cands.base_tokens <= 1
    skipped["single_token"] += int(single.sum())
    return cands.take(np.flatnonzero(~single))
