"""Aligning a base and an extended tokenization of the same text, for distillation.

Both tokenizers turn a text into the same byte stream (the extension adds vocabulary, not normalization), so
their token boundaries can be compared as byte offsets. A *chunk* runs between two consecutive offsets that are
boundaries in both; it holds whole tokens on each side. For appended merges and continued-BPE pieces every
extended boundary is a base boundary, so each extended token is a chunk of its own and covers one or more base
tokens. A byte-level token that holds part of a character (SmolLM2 spells most Han characters in two or three
byte tokens) needs no special case: offsets are counted in bytes, never in characters.

    base  |高|血|压|患|者|      (say 5 tokens, some of them byte fragments in reality)
    ext   |高血压  |患者 |      chunks: (ext 0 <- base 0..2), (ext 1 <- base 3..4)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from vocabx.errors import ModelError, TokenizerError


@dataclass
class Alignment:
    """Per extended token j of one text: its chunk's extent on both sides.

    `first[j]`: j opens its chunk (the boundary before it is shared with the base tokenization), `last[j]`: j
    closes it. `base_start[j]` / `base_end[j]`: the base tokens [start, end) of j's chunk. `chunk_first[j]`: the
    first extended token of j's chunk.
    """

    first: np.ndarray
    last: np.ndarray
    base_start: np.ndarray
    base_end: np.ndarray
    chunk_first: np.ndarray

    @property
    def chunks(self) -> int:
        return int(self.first.sum())


def align(base_ids: np.ndarray, ext_ids: np.ndarray, byte_lengths: np.ndarray) -> Alignment:
    """Chunks of two tokenizations of one text, from each token's length in bytes.

    >>> lens = np.array([1, 1, 1, 2, 3])          # ids 0-2: one byte; 3 = (0, 1); 4 = (0, 1, 2)
    >>> a = align(np.array([0, 1, 2, 0, 1]), np.array([4, 3]), lens)
    >>> a.base_start.tolist(), a.base_end.tolist(), a.first.tolist()
    ([0, 3], [3, 5], [True, True])
    """
    base_ends = np.cumsum(byte_lengths[base_ids])
    ext_ends = np.cumsum(byte_lengths[ext_ids])
    if base_ends.size != 0 and (ext_ends.size == 0 or base_ends[-1] != ext_ends[-1]):
        raise TokenizerError(
            "the base and extended tokenizations of a text cover different bytes",
            hint="the extended tokenizer must keep the base's normalization; pass the base it was extended from "
                 "with --teacher",
        )
    shared = np.intersect1d(base_ends, ext_ends, assume_unique=True)  # the end offset of every chunk
    ext_chunk = np.searchsorted(shared, ext_ends)
    base_chunk_end = np.searchsorted(base_ends, shared) + 1  # base tokens up to each chunk's end
    base_chunk_start = np.concatenate([[0], base_chunk_end[:-1]])
    first = np.ones(ext_ids.size, dtype=bool)
    first[1:] = ext_chunk[1:] != ext_chunk[:-1]
    last = np.ones(ext_ids.size, dtype=bool)
    last[:-1] = first[1:]
    chunk_first = np.maximum.accumulate(np.where(first, np.arange(ext_ids.size), 0))
    return Alignment(first, last, base_chunk_start[ext_chunk], base_chunk_end[ext_chunk], chunk_first)


class VocabMap:
    """What distillation needs to know about an extension: byte length of every id, the base-token path of every
    new token, the base token each id starts with, the first two base tokens of each new token, and the one-step
    extensions of each path (the base tokens x for which path + [x] is a new token).

    Read from the extended tokenizer.json: a new BPE token is the merge of two earlier tokens, so its base path is
    the concatenation of theirs, exactly as the extended tokenizer builds it from the base tokens of a text.
    """

    def __init__(self, spec: dict[str, Any], base_size: int) -> None:
        model = spec.get("model", {})
        if model.get("type") != "BPE":
            raise TokenizerError(f"distillation needs a BPE tokenizer.json, got model type {model.get('type')!r}",
                                 hint="extend a byte-level BPE or SentencePiece BPE base (vocabx extend)")
        self.base_size = base_size
        self.vocab: dict[str, int] = dict(model["vocab"])
        for added in spec.get("added_tokens", []):
            self.vocab.setdefault(added["content"], added["id"])
        self.size = max(self.vocab.values()) + 1
        self.byte_level = _is_byte_level(spec)
        self.strings = [""] * self.size
        for token, i in self.vocab.items():
            self.strings[i] = token
        self._merges: dict[int, tuple[int, int]] = {}
        for pair in model.get("merges", []):
            left, right = pair.split(" ", 1) if isinstance(pair, str) else pair
            merged = self.vocab.get(left + right)
            if merged is not None and merged >= base_size and merged not in self._merges:
                self._merges[merged] = (self.vocab[left], self.vocab[right])

    @classmethod
    def from_dir(cls, model_dir: str | Path, base_size: int) -> VocabMap:
        path = Path(model_dir) / "tokenizer.json"
        if not path.is_file():
            raise ModelError(f"{model_dir} has no tokenizer.json", hint="pass the output of `vocabx extend`")
        return cls(json.loads(path.read_text(encoding="utf-8")), base_size)

    @cached_property
    def byte_lengths(self) -> np.ndarray:
        return np.array([len(self.token_bytes(i)) for i in range(self.size)], dtype=np.int64)

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes an id stands for in the text: byte-level alphabet decoded, `▁` a space, `<0xAB>` one byte."""
        token = self.strings[token_id]
        if self.byte_level:
            from vocabx.extend.bpe_state import token_bytes

            try:
                return token_bytes(token)
            except KeyError:  # special tokens are written in plain text
                return token.encode("utf-8")
        if len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
            return bytes([int(token[3:5], 16)])
        return token.replace("▁", " ").encode("utf-8")

    def path(self, token_id: int) -> tuple[int, ...]:
        """The base tokens a token is built from (itself when it is a base token)."""
        if token_id < self.base_size:
            return (token_id,)
        if token_id not in self._merges:
            raise TokenizerError(f"new token {self.strings[token_id]!r} (id {token_id}) is no merge of earlier tokens",
                                 hint="distillation needs real vocabulary (vocabx extend --mode terms or train), "
                                      "not --mode added-tokens")
        left, right = self._merges[token_id]
        return self.path(left) + self.path(right)

    @cached_property
    def new_paths(self) -> dict[int, tuple[int, ...]]:
        return {i: self.path(i) for i in range(self.base_size, self.size)}

    @cached_property
    def first_base(self) -> np.ndarray:
        """Per id, old and new: the base token it starts with (an old token starts with itself)."""
        out = np.arange(self.size, dtype=np.int64)
        for i, p in self.new_paths.items():
            out[i] = p[0]
        return out

    @cached_property
    def pair_of_new(self) -> np.ndarray:
        """Per new token (id - base_size): the index of its first two base tokens among all such pairs."""
        index: dict[tuple[int, ...], int] = {}  # keyed by the first two base ids
        return np.array([index.setdefault(p[:2], len(index)) for _, p in sorted(self.new_paths.items())],
                        dtype=np.int64)

    @cached_property
    def seconds(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """first base token b1 -> (the base tokens b2 that follow it in some new token, the index of each pair)."""
        found: dict[int, dict[int, int]] = {}
        for (_, p), pair in zip(sorted(self.new_paths.items()), self.pair_of_new):
            found.setdefault(p[0], {})[p[1]] = int(pair)
        return {b1: (np.array(list(d), dtype=np.int64), np.array(list(d.values()), dtype=np.int64))
                for b1, d in found.items()}

    @cached_property
    def extensions(self) -> dict[tuple[int, ...], list[int]]:
        """path -> base ids x such that path + (x,) is the path of a new token."""
        out: dict[tuple[int, ...], list[int]] = {}
        for p in self.new_paths.values():
            out.setdefault(p[:-1], []).append(p[-1])
        return out


def _is_byte_level(spec: dict[str, Any]) -> bool:
    from vocabx.adapters.hf import detect_family

    return detect_family(spec) == "bytelevel-bpe"
