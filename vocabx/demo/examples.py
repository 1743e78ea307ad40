"""Example tokenizations for the demo report: a few held-out domain sentences, each shown as the base and the
extended tokenizer cut it (token boundaries in characters, token counts)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from vocabx.adapters.base import TokenizerAdapter

MIN_CHARS, MAX_CHARS = 12, 60  # long enough to hold a term or two, short enough to read on one line
SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|\n")
REPLACEMENT = "\ufffd"  # what a decoder shows for the first bytes of a character split across tokens


@dataclass
class Segmentation:
    """One tokenizer on one text: `segments` are the smallest pieces of text that whole tokens decode to, each
    with how many tokens it took (more than one where a character is split into byte tokens)."""

    label: str
    tokens: int
    segments: list[tuple[str, int]]

    @property
    def text(self) -> str:
        return "".join(s for s, _ in self.segments)

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "tokens": self.tokens, "segments": [list(s) for s in self.segments]}


@dataclass
class Example:
    """A held-out sentence and its segmentation by each tokenizer, base first."""

    text: str
    source: int  # index of the held-out document it comes from
    cuts: list[Segmentation]

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "document": self.source, "tokenizers": [c.as_dict() for c in self.cuts]}


def pick_sentences(texts: Iterable[str], n: int) -> list[tuple[int, str]]:
    """Up to `n` sentences of MIN_CHARS..MAX_CHARS characters, in document order, at most one per document
    (no choosing by how well a tokenizer does on them: the first that fit)."""
    picked: list[tuple[int, str]] = []
    for index, text in enumerate(texts):
        if len(picked) >= n:
            break
        for sentence in SENTENCE_END.split(text):
            sentence = sentence.strip()
            if MIN_CHARS <= len(sentence) <= MAX_CHARS:
                picked.append((index, sentence))
                break
    return picked


def segment(adapter: TokenizerAdapter, label: str, text: str) -> Segmentation:
    """Cut `text` where the decoded prefix grows by whole characters, e.g. SmolLM2 on 刑法 ->
    [('刑', 2), ('法', 2)]: each character took two byte tokens. Decoding prefixes is quadratic, which is
    fine on sentences of a few dozen tokens."""
    ids = adapter.encode(text)
    segments: list[tuple[str, int]] = []
    done, pending = "", 0
    for k in range(1, len(ids) + 1):
        pending += 1
        prefix = adapter.decode(ids[:k])
        if prefix.endswith(REPLACEMENT) or not prefix.startswith(done):
            continue  # mid-character: wait for the token that completes it
        segments.append((prefix[len(done):], pending))
        done, pending = prefix, 0
    if pending:  # a tail that never decoded cleanly: keep the tokens counted and the text whole
        segments.append((adapter.decode(ids)[len(done):], pending))
    return Segmentation(label, len(ids), segments)


def tokenization_examples(
    texts: Sequence[str], tokenizers: Sequence[tuple[str, TokenizerAdapter]], n: int
) -> list[Example]:
    """The examples of the report: `n` held-out sentences, each segmented by every (label, adapter)."""
    return [Example(sentence, index, [segment(adapter, label, sentence) for label, adapter in tokenizers])
            for index, sentence in pick_sentences(texts, n)]
