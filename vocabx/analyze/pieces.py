"""Token counts of text pieces as the base tokenizer splits them *inside* one pre-token: no dummy prefix, no
normalization, no pre-token split; plus which vocabulary ids are byte-fallback or partial-UTF-8 tokens.

`PieceEncoder.count(["高血压"])` is what `高血压` costs in running text, e.g. 6 for SmolLM2, 3 for Llama-2, while
`adapter.encode("高血压")` would add a `▁` for SentencePiece. Each adapter family supplies its own piece encoder
(`TokenizerAdapter.piece_encoder`; a family without one raises) and flags (`TokenizerAdapter.fallback_flags`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vocabx.adapters import TokenizerAdapter
from vocabx.adapters.utf8 import utf8_replaced as utf8_replaced  # re-exported: analyze callers look for it here


class PieceEncoder:
    """Encodes pieces of pre-tokens with the base tokenizer's model alone (`TokenizerAdapter.piece_encoder`)."""

    def __init__(self, adapter: TokenizerAdapter) -> None:
        self.adapter = adapter
        self._encode = adapter.piece_encoder()

    def encode(self, pieces: Sequence[str]) -> list[list[int]]:
        """Token ids of each piece as it would be tokenized inside a pre-token."""
        return self._encode(list(pieces)) if pieces else []

    def count(self, pieces: Sequence[str]) -> np.ndarray:
        """Token counts of each piece inside a pre-token."""
        return np.fromiter((len(ids) for ids in self.encode(pieces)), dtype=np.int64, count=len(pieces))


def fallback_flags(adapter: TokenizerAdapter) -> tuple[np.ndarray, str]:
    """A boolean per vocabulary id: True for byte-fallback pieces (`<0x..>`, SentencePiece style) and unknown
    tokens, or, for byte-level BPE, tokens that are not whole UTF-8 characters (their text decodes to U+FFFD); and
    which of the two it is ("byte_fallback", "partial_utf8"). See `TokenizerAdapter.fallback_flags`."""
    return adapter.fallback_flags()
