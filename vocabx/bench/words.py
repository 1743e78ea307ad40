"""Counting words, the denominator of tokens per word, with the analyze segmenter (`vocabx.analyze.segment`):
jieba words for a Chinese corpus, Unicode words otherwise, so bench and analyze report the same fertility.

The language is detected once per corpus (most letters Han -> `zh`), as analyze does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vocabx.analyze.segment import HAN_RUN, detect_lang, segment, segmenter_name

DESCRIPTION = (
    "jieba words (jieba's own pieces, run by vocabx's compiled kernels, else rjieba or jieba) for corpora whose "
    "letters are mostly Han, Unicode words otherwise "
    "(vocabx.analyze.segment; punctuation and spaces are not words)"
)


@dataclass(frozen=True)
class WordCount:
    """Words in a corpus and how they were cut.

    >>> count_words(["Tokens per word, don't panic: 42!"])
    WordCount(words=6, lang='other', segmenter='unicode-words')
    """

    words: int
    lang: str
    segmenter: str


def count_words(texts: Sequence[str]) -> WordCount:
    """Detect the corpus language from its texts, then count the segmenter's words in each."""
    lang = detect_lang(texts)
    return WordCount(sum(len(segment(text, lang)) for text in texts), lang, segmenter_name(lang))


def han_chars(text: str) -> int:
    """Number of Han characters in `text` (the corpus summary reports their share)."""
    return sum(len(run) for run in HAN_RUN.findall(text))
