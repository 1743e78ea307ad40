"""SentencePiece models (`tokenizer.model`, a serialized ModelProto): BPE (Llama-2, Mistral) and Unigram.

Encoding goes through the sentencepiece library itself, so results match what the model was trained with.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
import regex

from vocabx.adapters.base import Layout, PieceEncoding, TokenizerAdapter
from vocabx.errors import TokenizerError, require

SP_UNKNOWN, SP_CONTROL, SP_USER_DEFINED, SP_UNUSED, SP_BYTE = 2, 3, 4, 5, 6  # sentencepiece_model.proto piece types

# How SentencePiece cuts text before its model runs (split_by_whitespace, split_by_unicode_script,
# split_by_number, split_digits): a piece never covers two of these runs.
# SentencePiece counts Hiragana and Katakana as Han. Scripts not listed here fall into one letter class.
_SCRIPT_RUNS = regex.compile(
    r"▁?(?:\d|[\p{Han}\p{Hiragana}\p{Katakana}ー]+|\p{Latin}+|\p{Cyrillic}+|\p{Greek}+|\p{Hangul}+"
    r"|\p{Arabic}+|[^\W\d_]+|[^\w▁\s]+|_+)|▁+"
)


class SentencePieceAdapter(TokenizerAdapter):
    """A SentencePiece processor loaded from model bytes."""

    layout: Layout | None = "sentencepiece"

    def __init__(self, model_bytes: bytes, name: str, source: str) -> None:
        spm = require("sentencepiece", "SentencePiece tokenizers")
        from sentencepiece import sentencepiece_model_pb2 as pb

        self.proto = pb.ModelProto()
        try:
            self.proto.ParseFromString(model_bytes)
            self.sp = spm.SentencePieceProcessor(model_proto=model_bytes)
        except Exception as exc:
            raise TokenizerError(
                f"{source} is not a SentencePiece model ({type(exc).__name__})",
                hint="point at a tokenizer.model written by SentencePiece",
            ) from exc
        kind = self.proto.trainer_spec.model_type  # 1 = unigram, 2 = bpe
        if kind not in (1, 2):
            raise TokenizerError(
                f"{source} is a SentencePiece model of type {kind}, not BPE or Unigram",
                hint="supported SentencePiece types: BPE (Llama, Mistral) and Unigram",
            )
        self.family = "sentencepiece-bpe" if kind == 2 else "sentencepiece-unigram"
        self.model_bytes = model_bytes
        self.name = name
        self.source = source

    @classmethod
    def from_file(cls, path: str | Path, name: str | None = None) -> SentencePieceAdapter:
        path = Path(path)
        return cls(path.read_bytes(), name or path.parent.name or path.stem, str(path))

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return self.sp.encode(list(texts), num_threads=-1)

    def decode(self, ids: Sequence[int]) -> str:
        return self.sp.decode(list(ids))

    def id_to_token(self, token_id: int) -> str | None:
        return self.sp.id_to_piece(token_id) if 0 <= token_id < self.vocab_size else None

    def token_to_id(self, token: str) -> int | None:
        i = self.sp.piece_to_id(token)
        return None if i == self.sp.unk_id() and token != self.sp.id_to_piece(i) else i

    @cached_property
    def piece_types(self) -> tuple[list[str], list[int]]:
        """Every piece and its type, by id, read from the model in one pass (sentencepiece_model.proto types: 1
        normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), not one processor call per id."""
        pieces = self.proto.pieces
        return [p.piece for p in pieces], [p.type for p in pieces]

    @cached_property
    def _normalizer_spec(self):
        return self.proto.normalizer_spec

    def pretokenize(self, text: str) -> list[tuple[str, tuple[int, int]]]:
        spec = self._normalizer_spec
        body = " ".join(text.split()) if spec.remove_extra_whitespaces else text
        body = ("▁" if spec.add_dummy_prefix else "") + body.replace(" ", "▁")
        return [(m.group(), m.span()) for m in _SCRIPT_RUNS.finditer(body)]

    def term_to_token(self, term: str) -> str:
        return term.replace(" ", "▁")

    def crosses_boundary(self, term: str) -> bool:
        """Words joined by single spaces (`blood pressure`) do not cross a boundary: split_by_whitespace binds
        SentencePiece's trainer only, and its BPE encoder merges `▁blood` + `▁pressure` wherever that piece exists.
        Within each word the trainer's script and digit runs still count, as pieces were learned inside them."""
        words = term.split(" ")
        if len(words) > 1 and (not all(words) or self.family != "sentencepiece-bpe"):
            return True  # leading, trailing or double spaces; Unigram models are not extended as real pieces
        return any(len(self.pretokenize(word)) > 1 for word in words)

    def piece_encoder(self) -> PieceEncoding:
        """A processor for the same model without dummy prefix or whitespace cleanup; spaces become `▁`."""
        import sentencepiece as spm

        proto = type(self.proto)()
        proto.CopyFrom(self.proto)
        proto.normalizer_spec.add_dummy_prefix = False
        proto.normalizer_spec.remove_extra_whitespaces = False
        plain = spm.SentencePieceProcessor(model_proto=proto.SerializeToString())
        return lambda pieces: plain.encode([p.replace(" ", "▁") for p in pieces])

    def fallback_flags(self) -> tuple[np.ndarray, str]:
        """Byte-fallback pieces (`<0xE9>`) and the unknown piece, read from the piece types."""
        types = np.array(self.piece_types[1], dtype=np.int64)
        return np.isin(types, (SP_UNKNOWN, SP_BYTE)), "byte_fallback"

    def load_saved(self, directory: str | Path) -> TokenizerAdapter:
        """Its tokenizer.model when there is one: the tokenizer.json twin can differ where pieces tie in score."""
        model = Path(directory) / "tokenizer.model"
        if model.is_file():
            return SentencePieceAdapter.from_file(model, name=Path(directory).name)
        return super().load_saved(directory)
