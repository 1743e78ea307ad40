"""Tokenizers stored as a Hugging Face `tokenizer.json` (the Rust `tokenizers` backend): byte-level BPE,
BPE with byte fallback converted from SentencePiece, WordPiece and Unigram.

The family is read from the JSON (model type, pre-tokenizer, byte fallback), never guessed from a name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer
from tokenizers.pre_tokenizers import ByteLevel

from vocabx.adapters.base import Family, TokenizerAdapter
from vocabx.errors import TokenizerError


def _components(node: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Flatten a normalizer/pre-tokenizer/decoder node (which may be a Sequence) into its parts."""
    if not node:
        return []
    for key in ("pretokenizers", "normalizers", "decoders"):
        if key in node:
            return [part for child in node[key] for part in _components(child)]
    return [node]


def detect_family(spec: dict[str, Any]) -> Family:
    """The family of a parsed tokenizer.json."""
    model = spec.get("model", {})
    kind = model.get("type")
    parts = {c.get("type") for c in _components(spec.get("pre_tokenizer")) + _components(spec.get("decoder"))}
    if kind == "BPE":
        if "ByteLevel" in parts:
            return "bytelevel-bpe"
        return "hf-bpe"  # e.g. Llama/Mistral converted from SentencePiece: Metaspace or ▁ normalizer, byte fallback
    if kind == "WordPiece":
        return "wordpiece"
    if kind == "Unigram":
        return "unigram"
    raise TokenizerError(
        f"tokenizer.json has model type {kind!r}, which vocabx does not support",
        hint="supported: BPE (byte-level or SentencePiece-style), WordPiece, Unigram",
    )


class HFTokenizerAdapter(TokenizerAdapter):
    """A `tokenizers.Tokenizer` loaded from tokenizer.json text."""

    def __init__(self, json_text: str, name: str, source: str) -> None:
        try:
            self.spec: dict[str, Any] = json.loads(json_text)
            self.tokenizer = Tokenizer.from_str(json_text)
        except Exception as exc:  # the Rust parser raises a plain Exception
            raise TokenizerError(
                f"{source} is not a valid tokenizer.json: {str(exc).splitlines()[0][:200]}",
                hint="point at a tokenizer.json written by the tokenizers library or transformers",
            ) from exc
        self.family = detect_family(self.spec)
        self.name = name
        self.source = source
        self.json_text = json_text

    @classmethod
    def from_file(cls, path: str | Path, name: str | None = None) -> HFTokenizerAdapter:
        path = Path(path)
        return cls(path.read_text(encoding="utf-8"), name or path.parent.name or path.name, str(path))

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)

    def id_to_token(self, token_id: int) -> str | None:
        return self.tokenizer.id_to_token(token_id)

    def token_to_id(self, token: str) -> int | None:
        return self.tokenizer.token_to_id(token)

    def pretokenize(self, text: str) -> list[tuple[str, tuple[int, int]]]:
        normalizer = self.tokenizer.normalizer
        normalized = normalizer.normalize_str(text) if normalizer is not None else text
        pre = self.tokenizer.pre_tokenizer
        if pre is None:
            return [(normalized, (0, len(text)))]
        # Offsets refer to the normalized string; for the normalizers in use (NFC, ▁-replace) that is close enough
        # for boundary checks, which only count segments.
        return pre.pre_tokenize_str(normalized)

    @cached_property
    def _byte_encoder(self) -> dict[int, str]:
        alphabet = ByteLevel.alphabet()
        # The GPT-2 byte-to-unicode table: printable Latin-1 bytes map to themselves, the rest to U+0100 upwards.
        printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
        table = {b: chr(b) for b in printable}
        extra = 0
        for b in range(256):
            if b not in table:
                table[b] = chr(256 + extra)
                extra += 1
        assert set(table.values()) == set(alphabet)
        return table

    def term_to_token(self, term: str) -> str:
        if self.family == "bytelevel-bpe":
            return "".join(self._byte_encoder[b] for b in term.encode("utf-8"))
        if self.family == "hf-bpe":
            return term.replace(" ", "▁")
        return term
