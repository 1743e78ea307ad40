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

import numpy as np
from tokenizers import AddedToken, Tokenizer
from tokenizers.pre_tokenizers import ByteLevel

from vocabx.adapters.base import Family, Layout, PieceEncoding, TokenizerAdapter
from vocabx.adapters.utf8 import utf8_replaced
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
        self.layout: Layout | None = "byte-level" if self.family == "bytelevel-bpe" else None
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

    def tokenizer_json(self) -> str:
        return self.json_text

    @property
    def unknown_token(self) -> str | None:
        return self.spec.get("model", {}).get("unk_token")

    def model_vocab(self) -> dict[str, int]:
        """The model's vocabulary (token -> id, added tokens aside) as parsed already (a BPE's is a dict); else
        from the tokenizer, which builds a new dict on every call."""
        vocab = self.spec.get("model", {}).get("vocab")
        return vocab if isinstance(vocab, dict) else self.tokenizer.get_vocab(with_added_tokens=False)

    def piece_encoder(self) -> PieceEncoding:
        """The model and added tokens alone, fed each piece in the model's alphabet (`term_to_token`)."""
        model = _model_only(self)

        def encode(pieces: Sequence[str]) -> list[list[int]]:
            mapped = [self.term_to_token(p) for p in pieces]
            return [e.ids for e in model.encode_batch(mapped, add_special_tokens=False)]

        return encode

    def fallback_flags(self) -> tuple[np.ndarray, str]:
        """Byte-level BPE: tokens that are not whole UTF-8 characters (their text decodes to U+FFFD); other
        families: byte-fallback pieces and the unknown token."""
        if self.family == "bytelevel-bpe":
            return self._partial_utf8(), "partial_utf8"
        return super().fallback_flags()

    def _partial_utf8(self) -> np.ndarray:
        """Per id: does `decode([id])` hold U+FFFD? Byte-level tokens are mapped to their bytes and checked for
        UTF-8 validity with whole-array passes (not one `decode` call, or one `str.translate`, per id on every load
        of a large vocabulary); added tokens, which the decoder passes through as text, and tokens outside the byte
        alphabet are decoded by the tokenizer itself."""
        size = self.vocab_size
        vocab = self.model_vocab()
        added = self.spec.get("added_tokens") or []  # with the model's: as get_vocab(with_added_tokens=True)
        tokens = [*vocab, *(t["content"] for t in added)]
        ids = np.fromiter([*vocab.values(), *(int(t["id"]) for t in added)], dtype=np.int64, count=len(tokens))
        to_byte = np.full(max(map(ord, self._byte_encoder.values())) + 1, -1, dtype=np.int16)
        for byte, ch in self._byte_encoder.items():
            to_byte[ord(ch)] = byte
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        cps = np.frombuffer("".join(tokens).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        data = np.where(cps < len(to_byte), to_byte[np.minimum(cps, len(to_byte) - 1)], -1)
        owner = np.repeat(np.arange(len(tokens)), lengths)
        flags = np.zeros(size, dtype=bool)
        ok = ids < size
        flags[ids[ok]] = utf8_replaced(data.clip(0).astype(np.uint8), owner, len(tokens))[ok]
        outside = set(ids[np.unique(owner[data < 0])].tolist()) if (data < 0).any() else set()
        for i in sorted(({int(t["id"]) for t in added} | outside) & set(range(size))):
            flags[i] = "\ufffd" in self.decode([i])
        return flags


def _model_only(adapter: HFTokenizerAdapter) -> Tokenizer:
    """The adapter's model and added tokens without normalizer, pre-tokenizer, post-processor or decoder. The new
    tokenizer shares the loaded model (no second parse of the JSON); if the added tokens do not
    get their ids back that way, the stripped JSON is parsed instead."""
    added = sorted(adapter.spec.get("added_tokens") or [], key=lambda t: t["id"])
    shared = Tokenizer(adapter.tokenizer.model)
    for entry in added:
        token = AddedToken(entry["content"], single_word=entry.get("single_word", False),
                           lstrip=entry.get("lstrip", False), rstrip=entry.get("rstrip", False),
                           normalized=entry.get("normalized", True), special=entry.get("special", False))
        (shared.add_special_tokens if entry.get("special") else shared.add_tokens)([token])
    if all(shared.token_to_id(entry["content"]) == entry["id"] for entry in added):
        return shared
    spec = dict(adapter.spec)  # a shallow copy suffices: only top-level stages are replaced
    for stage in ("normalizer", "pre_tokenizer", "post_processor", "decoder"):
        spec[stage] = None
    return Tokenizer.from_str(json.dumps(spec))
