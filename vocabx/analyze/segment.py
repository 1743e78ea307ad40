"""Word segmentation for candidate terms: jieba for Chinese (run by the compiled kernels, `jiebacut`), a
Unicode-aware word splitter for other scripts, and script detection (`detect_lang`)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import regex

from vocabx.analyze.jiebacut import jieba_model

log = logging.getLogger(__name__)

# CJK Unified Ideographs, Extension A, compatibility ideographs and Extensions B-H: what n-gram discovery scans.
HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
HAN_RUN = regex.compile(r"\p{Han}+")
# Letters with their combining marks, digits, and inner apostrophes/hyphens: `don't`, `COVID-19`, `naïve`.
WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+(?:['’\-][\p{L}\p{M}\p{N}]+)*")
# What a segmenter word must contain to count as a word (not punctuation, spaces or symbols).
WORDLIKE = regex.compile(r"[\p{L}\p{N}]")


def han_mask(codepoints: np.ndarray) -> np.ndarray:
    """Boolean mask of Han code points in an integer array (vectorized `\\p{Han}` for ideographs)."""
    mask = np.zeros(codepoints.shape, dtype=bool)
    for lo, hi in HAN_RANGES:
        mask |= (codepoints >= lo) & (codepoints <= hi)
    return mask


def char_classes(cps: np.ndarray, patterns: Sequence[regex.Pattern]) -> np.ndarray:
    """Per position of `cps`: bit i set where the character matches `patterns[i]` (uint8, up to 8 patterns), each
    distinct character asked of the regexes once (a shard holds millions of positions, a few thousand characters).

    >>> char_classes(np.array([0x9AD8, 0x41, 0x9AD8]), [HAN_RUN]).tolist()
    [1, 0, 1]
    """
    present = np.flatnonzero(np.bincount(cps)) if len(cps) else np.zeros(0, np.int64)
    table = np.zeros(int(cps.max()) + 1 if len(cps) else 1, dtype=np.uint8)
    chars = [chr(c) for c in present.tolist()]
    for bit, pattern in enumerate(patterns):
        table[present] |= np.array([pattern.fullmatch(ch) is not None for ch in chars], dtype=np.uint8) << bit
    return table[cps]


def is_han_text(text: str) -> bool:
    """True when every character of `text` is a Han ideograph."""
    return bool(text) and HAN_RUN.fullmatch(text) is not None


def han_texts(texts: Sequence[str]) -> np.ndarray:
    """`is_han_text` of each text, as a boolean array (one pass over the joined code points, not a regex per text).

    >>> han_texts(["高血压", "CT值", ""]).tolist()
    [True, False, False]
    """
    return texts_where(texts, lambda cps: char_classes(cps, [HAN_RUN]).astype(bool))


def texts_where(texts: Sequence[str], test: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Per text: non-empty and `test` (code points -> booleans) holds for every character; one call for all.

    >>> texts_where(["ab", "aB", ""], lambda cps: cps >= ord("a")).tolist()
    [True, False, False]
    """
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    return (lengths > 0) & (texts_count(texts, test) == lengths)


def texts_count(texts: Sequence[str], test: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Per text: how many of its characters `test` (code points -> booleans) holds for; one call for all."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    cps = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    running = np.zeros(len(cps) + 1, dtype=np.int64)
    np.cumsum(test(cps), out=running[1:])
    ends = np.cumsum(lengths)
    return running[ends] - running[ends - lengths]


LETTER = regex.compile(r"\p{L}")


def detect_lang(texts: Iterable[str], sample_chars: int = 200_000) -> str:
    """`zh` when most letters of the first `sample_chars` characters are Han, else `other` (each distinct character
    classified once, `char_classes`).

    >>> detect_lang(["高血压患者 BP 160"])
    'zh'
    """
    chunks, seen = [], 0
    for text in texts:
        chunks.append(text[: sample_chars - seen])
        seen += len(chunks[-1])
        if seen >= sample_chars:
            break
    cps = np.frombuffer("".join(chunks).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    classes = char_classes(cps, [HAN_RUN, LETTER])
    han, letters = int(np.count_nonzero(classes & 1)), int(np.count_nonzero(classes & 2))
    return "zh" if letters and han / letters >= 0.5 else "other"


KERNEL = "jieba-kernel"  # the segmenter's name in manifests where `jiebacut` runs jieba


def _jieba_cut() -> tuple[str, Callable[[str], list[str]]]:
    """jieba's accurate mode as the compiled kernels run it (`jiebacut`: jieba's pieces, no start-up cost)."""
    return KERNEL, jieba_model().cut


def cuts_without_hmm(terms: list[str]) -> dict[str, list[str]]:
    """jieba's dictionary-only cut (no HMM) of each term, as `jieba.lcut(term, HMM=False)` gives it: the HMM would
    glue unknown pairs such as 法对 into one word. One kernel call for all terms."""
    counts, lengths = jieba_model().cut_texts(terms, hmm=False)
    ends = np.cumsum(lengths).tolist()
    joined = "".join(terms)
    pieces = [joined[a:b] for a, b in zip([0, *ends[:-1]], ends)]
    bounds = np.concatenate([[0], np.cumsum(counts)]).tolist()
    return {term: pieces[a:b] for term, a, b in zip(terms, bounds, bounds[1:])}


def segmenter_name(lang: str) -> str:
    """The name recorded in manifests for the segmenter used for `lang`."""
    return _jieba_cut()[0] if lang == "zh" else "unicode-words"


def segment(text: str, lang: str) -> list[str]:
    """Words of `text` (punctuation and spaces dropped): jieba for `zh`, the Unicode word pattern otherwise."""
    if lang == "zh":
        return [w for w in _jieba_cut()[1](text) if WORDLIKE.search(w) and not w.isspace()]
    return WORD.findall(text)


def raw_words(text: str, lang: str) -> list[str]:
    """The segmenter's output for `text` unfiltered: for `zh` the pieces tile the text (punctuation and spaces
    included), so their lengths locate word boundaries; filter the counts with `keep_words`."""
    if lang == "zh":
        return _jieba_cut()[1](text)
    return WORD.findall(text)


def keep_words(counts: Counter[str]) -> Counter[str]:
    """The entries of a raw word count that are words: they hold a letter or digit (`WORDLIKE`; so they are not
    only spaces), each distinct character asked of the pattern once."""
    words = list(counts)
    wordlike = texts_count(words, lambda cps: char_classes(cps, [WORDLIKE]).astype(bool)) > 0
    return Counter({w: counts[w] for w, keep in zip(words, wordlike.tolist()) if keep})


def count_words(texts: Iterable[str], lang: str) -> Counter[str]:
    """Word frequencies over `texts` (one Counter, mergeable by `+=` across shards)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(segment(text, lang))
    return counts
