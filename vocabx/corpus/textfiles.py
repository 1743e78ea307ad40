"""Plain-text formats: .txt/.md split into documents per file, block or line, and word/POS-tagged text.

Files are streamed line by line after encoding detection; only `split="file"` holds a whole file, because
then the file is the document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from vocabx.corpus.config import CorpusConfig
from vocabx.corpus.document import CorpusStats, Document
from vocabx.corpus.encoding import iter_lines, open_text

BLANK_LINE = re.compile(r"\n[^\S\n]*\n")  # a line holding only whitespace (including U+3000) separates blocks
POS_TAG = re.compile(r"[A-Za-z]+(\][A-Za-z]+)?")  # `n`, `nr`, `Vg`; `n]nt` closes a bracketed compound
DATE_ID = re.compile(r"\d{8}-\d{2}-\d{3}-\d{3}/m")  # People's Daily paragraph id, `19980101-01-001-001/m`


def read_text(path: Path, label: str, config: CorpusConfig, stats: CorpusStats) -> Iterator[Document]:
    """Documents of a .txt/.md file by `config.split`; blank lines and blank blocks yield nothing."""
    text_file = open_text(path, label, config, stats)
    if text_file is None:
        return
    mode = config.split
    if mode == "auto":
        # Decided on the sample: a 1 GB file is not read twice to look for a blank line near its end.
        mode = "block" if BLANK_LINE.search(text_file.sample) else "line"
    lines = iter_lines(text_file, config, stats)
    if mode == "file":
        text = "".join(lines).strip("\n")
        if text.strip():
            yield Document(text, label)
    elif mode == "block":
        yield from _blocks(lines, label)
    else:
        for number, line in enumerate(lines, 1):
            if line.strip():
                yield Document(line.rstrip("\n"), f"{label}:{number}")


def _blocks(lines: Iterator[str], label: str) -> Iterator[Document]:
    """Paragraphs: runs of non-blank lines, labelled with the line number where each starts."""
    block: list[str] = []
    start = 0
    for number, line in enumerate(lines, 1):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            yield Document("".join(block).rstrip("\n"), f"{label}:{start}")
            block = []
    if block:
        yield Document("".join(block).rstrip("\n"), f"{label}:{start}")


def read_pos_tagged(path: Path, label: str, config: CorpusConfig, stats: CorpusStats) -> Iterator[Document]:
    """One document per line of a word/POS-tagged corpus (`迈向/v  充满/v ...`), tags stripped."""
    text_file = open_text(path, label, config, stats)
    if text_file is None:
        return
    for number, line in enumerate(iter_lines(text_file, config, stats), 1):
        text = strip_pos_tags(line)
        if text.strip():
            yield Document(text, f"{label}:{number}")


def strip_pos_tags(line: str) -> str:
    """Plain text from a tagged line: tags, compound brackets and a leading paragraph id removed.

    >>> strip_pos_tags("19980101-01-001-001/m  迈向/v  [中国/ns  政府/n]nt  ，/w  WTO/nx  talks/nx")
    '迈向中国政府，WTO talks'
    """
    tokens = line.split()
    if tokens and DATE_ID.fullmatch(tokens[0]):
        tokens = tokens[1:]
    parts: list[str] = []
    for token in tokens:
        word = _untag(token)
        # Chinese words are written together; keep a space only between two Latin/digit words.
        if parts and _is_ascii_word_char(parts[-1][-1]) and _is_ascii_word_char(word[0]):
            parts.append(" ")
        parts.append(word)
    return "".join(parts)


def _untag(token: str) -> str:
    if token.startswith("[") and len(token) > 1:
        token = token[1:]
    word, slash, tag = token.rpartition("/")
    return word if slash and word and POS_TAG.fullmatch(tag) else token


def _is_ascii_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()
