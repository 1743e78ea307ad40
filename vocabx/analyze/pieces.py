"""Token counts of text pieces as the base tokenizer splits them *inside* one pre-token: no dummy prefix, no
normalization, no pre-token split; plus which vocabulary ids are byte-fallback or partial-UTF-8 tokens.

`PieceEncoder.count(["高血压"])` is what `高血压` costs in running text, e.g. 6 for SmolLM2, 3 for Llama-2, while
`adapter.encode("高血压")` would add a `▁` for SentencePiece.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import numpy as np

from vocabx.adapters import HFTokenizerAdapter, SentencePieceAdapter, TokenizerAdapter
from vocabx.errors import TokenizerError

SP_UNKNOWN, SP_CONTROL, SP_USER_DEFINED, SP_UNUSED, SP_BYTE = 2, 3, 4, 5, 6  # sentencepiece_model.proto piece types

log = logging.getLogger(__name__)


class PieceEncoder:
    """Encodes pieces of pre-tokens with the base tokenizer's model alone (one place that knows the families)."""

    def __init__(self, adapter: TokenizerAdapter) -> None:
        self.adapter = adapter
        if isinstance(adapter, HFTokenizerAdapter):
            self._hf = _model_only(adapter)
            self._encode = self._encode_hf
        elif isinstance(adapter, SentencePieceAdapter):
            import sentencepiece as spm

            proto = type(adapter.proto)()
            proto.CopyFrom(adapter.proto)
            proto.normalizer_spec.add_dummy_prefix = False
            proto.normalizer_spec.remove_extra_whitespaces = False
            self._sp = spm.SentencePieceProcessor(model_proto=proto.SerializeToString())
            self._encode = self._encode_sp
        else:
            raise TokenizerError(f"analyze does not support tokenizer class {type(adapter).__name__}",
                                 hint="use a tokenizer.json or a SentencePiece .model")

    def _encode_hf(self, pieces: Sequence[str]) -> list[list[int]]:
        mapped = [self.adapter.term_to_token(p) for p in pieces]
        return [e.ids for e in self._hf.encode_batch(mapped, add_special_tokens=False)]

    def _encode_sp(self, pieces: Sequence[str]) -> list[list[int]]:
        return self._sp.encode([p.replace(" ", "▁") for p in pieces])

    def encode(self, pieces: Sequence[str]) -> list[list[int]]:
        """Token ids of each piece as it would be tokenized inside a pre-token."""
        return self._encode(list(pieces)) if pieces else []

    def count(self, pieces: Sequence[str]) -> np.ndarray:
        """Token counts of each piece inside a pre-token."""
        return np.fromiter((len(ids) for ids in self.encode(pieces)), dtype=np.int64, count=len(pieces))


def _model_only(adapter: HFTokenizerAdapter):
    """The adapter's model and added tokens without normalizer, pre-tokenizer, post-processor or decoder. The new
    tokenizer shares the loaded model (parsing the JSON again took 0.12 s for SmolLM2); if the added tokens do not
    get their ids back that way, the stripped JSON is parsed instead."""
    from tokenizers import AddedToken, Tokenizer

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


def fallback_flags(adapter: TokenizerAdapter) -> tuple[np.ndarray, str]:
    """A boolean per vocabulary id: True for byte-fallback pieces (`<0x..>`, SentencePiece style) and unknown
    tokens, or, for byte-level BPE, tokens that are not whole UTF-8 characters (their text decodes to U+FFFD)."""
    size = adapter.vocab_size
    if isinstance(adapter, SentencePieceAdapter):
        types = np.array(adapter.piece_types[1], dtype=np.int64)
        return np.isin(types, (SP_UNKNOWN, SP_BYTE)), "byte_fallback"
    if adapter.family == "bytelevel-bpe":
        return _partial_utf8(adapter), "partial_utf8"
    tokens = [adapter.id_to_token(i) or "" for i in range(size)]
    unk = adapter.spec.get("model", {}).get("unk_token") if isinstance(adapter, HFTokenizerAdapter) else None
    flags = np.array([(t.startswith("<0x") and t.endswith(">") and len(t) == 6) or t == unk for t in tokens])
    return flags, "byte_fallback"


def model_vocab(adapter: HFTokenizerAdapter) -> dict[str, int]:
    """The model's vocabulary (token -> id, added tokens aside) as the adapter parsed it already (a BPE's is a dict);
    else from the tokenizer, which builds a dict of 49k entries in 25 ms."""
    vocab = adapter.spec.get("model", {}).get("vocab")
    return vocab if isinstance(vocab, dict) else adapter.tokenizer.get_vocab(with_added_tokens=False)


def _partial_utf8(adapter: HFTokenizerAdapter) -> np.ndarray:
    """Per id: does `adapter.decode([id])` hold U+FFFD? Byte-level tokens are mapped to their bytes and checked for
    UTF-8 validity with whole-array passes (49k `decode` calls took 0.12 s of every SmolLM2 load, a loop of
    `str.translate` 0.09 s); added tokens, which the decoder passes through as text, and tokens outside the byte
    alphabet are decoded by the tokenizer itself."""
    size = adapter.vocab_size
    vocab = model_vocab(adapter)
    added = adapter.spec.get("added_tokens") or []  # with the model's: get_vocab(with_added_tokens=True), 25 ms
    tokens = [*vocab, *(t["content"] for t in added)]
    ids = np.fromiter([*vocab.values(), *(int(t["id"]) for t in added)], dtype=np.int64, count=len(tokens))
    to_byte = np.full(max(map(ord, adapter._byte_encoder.values())) + 1, -1, dtype=np.int16)
    for byte, ch in adapter._byte_encoder.items():
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
        flags[i] = "\ufffd" in adapter.decode([i])
    return flags


def utf8_replaced(data: np.ndarray, owner: np.ndarray, segments: int) -> np.ndarray:
    """Per segment of the bytes `data` (`owner`: each byte's segment, non-decreasing): would decoding it hold
    U+FFFD, an invalid sequence or the character itself (RFC 3629: leads C2-F4 with their continuation bytes,
    E0/ED/F0/F4 with their narrower second byte)?

    >>> utf8_replaced(np.frombuffer("é".encode() + b"\\xe4" + "\ufffd".encode(), np.uint8), np.array([0, 0, 1, 2, 2, 2]), 3).tolist()
    [False, True, True]
    """
    n = len(data)
    bad = (data == 0xC0) | (data == 0xC1) | (data >= 0xF5)
    cont = (data & 0xC0) == 0x80
    need = np.select([(data >= 0xC2) & (data <= 0xDF), (data >= 0xE0) & (data <= 0xEF), (data >= 0xF0) & (data <= 0xF4)],
                     [1, 2, 3], 0)
    claimed = np.zeros(n, dtype=bool)
    for k in (1, 2, 3):
        lead = np.flatnonzero(need >= k)
        at = lead + k
        inside = at < n
        inside[inside] = owner[at[inside]] == owner[lead[inside]]
        bad[lead[~inside]] = True  # the sequence runs past its segment's end
        lead, at = lead[inside], at[inside]
        bad[lead[~cont[at]]] = True  # a continuation byte missing
        claimed[at] = True
    bad |= cont & ~claimed  # a continuation byte no lead claims
    second = np.minimum(np.arange(n) + 1, max(n - 1, 0))
    nxt = data[second] if n else data
    bad |= ((data == 0xE0) & (nxt < 0xA0)) | ((data == 0xED) & (nxt > 0x9F)) | ((data == 0xF0) & (nxt < 0x90)) | (
        (data == 0xF4) & (nxt > 0x8F))
    # U+FFFD itself (EF BF BD): in a valid segment, EF only ever starts a character
    third = np.minimum(np.arange(n) + 2, max(n - 1, 0))
    bad |= (data == 0xEF) & (nxt == 0xBF) & (data[third] == 0xBD) & (owner[third] == owner) if n else bad
    return np.bincount(owner[bad], minlength=segments) > 0
