"""The protocol every tokenizer family implements, so analysis, extension and benchmarks never branch on kind.

An adapter wraps one loaded tokenizer: it encodes and decodes without special tokens, says where a single
token can never reach across (pre-token boundaries), and knows its family and where it came from.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Family = Literal["bytelevel-bpe", "sentencepiece-bpe", "sentencepiece-unigram", "hf-bpe", "wordpiece", "unigram"]


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

    @property
    def info(self) -> TokenizerInfo:
        return TokenizerInfo(self.name, self.family, self.source, self.vocab_size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, family={self.family!r}, vocab_size={self.vocab_size})"
