"""The protocol every tokenizer family implements, so analysis, extension and benchmarks never branch on kind.

An adapter wraps one loaded tokenizer: it encodes and decodes without special tokens, says where a single
token can never reach across (pre-token boundaries), and knows its family and where it came from. What only some
families can do (encode pieces inside a pre-token, give a tokenizer.json) raises `TokenizerError` in this base
class, naming the family and what to pass instead; callers call the method and never test the adapter's class.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from vocabx.errors import TokenizerError

Family = Literal["bytelevel-bpe", "sentencepiece-bpe", "sentencepiece-unigram", "hf-bpe", "wordpiece", "unigram"]
# How analyze reads a tokenizer from inside (`TokenizerAdapter.layout`): "byte-level", a tokenizer.json BPE over the
# GPT-2 byte alphabet (an `HFTokenizerAdapter`: its `spec`, `tokenizer`, `model_vocab()`); "sentencepiece", a
# SentencePiece ModelProto (a `SentencePieceAdapter`: its `proto`, `piece_types`).
Layout = Literal["byte-level", "sentencepiece"]
PieceEncoding = Callable[[Sequence[str]], list[list[int]]]  # pieces -> the ids of each, as inside one pre-token


@dataclass(frozen=True)
class TokenizerInfo:
    """Where a tokenizer came from and what it is, as manifests and reports record it."""

    name: str
    family: Family
    source: str
    vocab_size: int
    files: dict[str, str] = field(default_factory=dict)


class TokenizerAdapter(abc.ABC):
    """One tokenizer family behind one surface. Subclasses implement the abstract methods."""

    family: Family
    name: str
    source: str
    # Which of analyze's per-layout paths applies (vocabx.analyze.tokencount, .units); None: analyze only encodes
    # whole texts with this tokenizer and cannot learn entries for it.
    layout: Layout | None = None

    @property
    @abc.abstractmethod
    def vocab_size(self) -> int:
        """Number of entries in the vocabulary (added tokens included), i.e. the next free id."""

    @abc.abstractmethod
    def encode(self, text: str) -> list[int]:
        """Token ids of `text`, with no BOS/EOS or other special tokens added."""

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of many texts; families with a parallel backend override this."""
        return [self.encode(t) for t in texts]

    @abc.abstractmethod
    def decode(self, ids: Sequence[int]) -> str:
        """Text of `ids`; `decode(encode(x)) == x` for a lossless tokenizer."""

    @abc.abstractmethod
    def id_to_token(self, token_id: int) -> str | None:
        """The vocabulary string of an id (in the family's own alphabet: `▁`, `Ġ`, `##`)."""

    @abc.abstractmethod
    def token_to_id(self, token: str) -> int | None:
        """The id of a vocabulary string, or None."""

    @abc.abstractmethod
    def pretokenize(self, text: str) -> list[tuple[str, tuple[int, int]]]:
        """The pre-token segments of `text` with character offsets: no token can span two segments."""

    @abc.abstractmethod
    def term_to_token(self, term: str) -> str:
        """The vocabulary string a single token for `term` would have, as it appears inside running text.

        `高血压` -> `é«ĺè¡Ģåİĭ` for byte-level BPE, `高血压` for SentencePiece and WordPiece (word-initial).
        """

    def count_tokens(self, texts: Iterable[str], batch_size: int = 256) -> int:
        """Total tokens over `texts`, encoded in batches."""
        total = 0
        batch: list[str] = []
        for text in texts:
            batch.append(text)
            if len(batch) >= batch_size:
                total += sum(len(ids) for ids in self.encode_batch(batch))
                batch = []
        if batch:
            total += sum(len(ids) for ids in self.encode_batch(batch))
        return total

    def fragments(self, term: str) -> list[str]:
        """How the tokenizer splits `term` on its own, as decoded strings (`高血压` -> ['高', '血', '压'])."""
        return [self.decode([i]) for i in self.encode(term)]

    def crosses_boundary(self, term: str) -> bool:
        """True when `term` spans more than one pre-token, so no single token can ever cover it."""
        return len(self.pretokenize(term)) > 1

    def piece_encoder(self) -> PieceEncoding:
        """An encoder of text pieces as the model alone splits them *inside* one pre-token: no normalizer, no
        pre-tokenizer, no dummy prefix (`["高血压"]` -> 3 ids for Llama-2, where `encode` adds a `▁` first)."""
        raise TokenizerError(f"{self.name} is a {self.family} tokenizer ({type(self).__name__}), whose pieces vocabx "
                             "cannot encode apart from its pipeline", hint="use a tokenizer.json or a SentencePiece .model")

    def fallback_flags(self) -> tuple[np.ndarray, str]:
        """A boolean per id, True for tokens that stand for no whole character, and the name of that kind: here
        byte-fallback pieces (`<0xE9>`) and the unknown token ("byte_fallback"); byte-level BPE says "partial_utf8"."""
        tokens = [self.id_to_token(i) or "" for i in range(self.vocab_size)]
        unk = self.unknown_token
        flags = np.array([(t.startswith("<0x") and t.endswith(">") and len(t) == 6) or t == unk for t in tokens])
        return flags, "byte_fallback"

    @property
    def unknown_token(self) -> str | None:
        """The vocabulary string of the model's unknown token, or None when it has none."""
        return None

    def tokenizer_json(self) -> str:
        """The tokenizer as `tokenizer.json` text, exactly as loaded (what transformers' fast tokenizer reads)."""
        raise TokenizerError(f"{self.name} is a {self.family} tokenizer ({type(self).__name__}) loaded from "
                             f"{self.source}, not from tokenizer.json text",
                             hint="pass a tokenizer.json, a .gguf or a .tiktoken file")

    def load_saved(self, directory: str | Path) -> TokenizerAdapter:
        """The tokenizer saved in `directory` (e.g. this one extended), read in the same form as this one, so that
        checks compare one implementation with itself; by default whatever `load_tokenizer` picks there."""
        from vocabx.adapters.loader import load_tokenizer

        return load_tokenizer(directory)

    @property
    def info(self) -> TokenizerInfo:
        return TokenizerInfo(self.name, self.family, self.source, self.vocab_size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, family={self.family!r}, vocab_size={self.vocab_size})"
