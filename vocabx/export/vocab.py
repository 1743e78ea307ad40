"""The GGUF vocabulary of a tokenizer directory: llama.cpp's `tokenizer.ggml.*` keys (tokens, token types, merges
for byte-level BPE or scores for SentencePiece, pre-tokenizer type, special token ids, chat template), written with
the `gguf` library's writer and its `SpecialVocab`.

Two ways in: from the files of a tokenizer directory (`from_directory`), or as a base GGUF's own arrays with the
extension's entries appended (`appended_to`), so every old entry stays exactly as the base GGUF had it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vocabx.errors import TokenizerError, require

# gguf.TokenType, which numbers its types as sentencepiece_model.proto does (1 normal .. 6 byte).
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
SUPPORTED = "byte-level BPE (tokenizer.json with a ByteLevel pre-tokenizer) or SentencePiece BPE (tokenizer.model)"
ARRAY_KEYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges", "tokenizer.ggml.scores")


@dataclass
class GGUFVocab:
    """What llama.cpp reads to tokenize: `model` is "gpt2" (byte-level BPE) or "llama" (SentencePiece)."""

    model: str
    pre: str
    tokens: list[str]
    types: list[int]
    merges: list[str] | None = None
    scores: list[float] | None = None
    add_space_prefix: bool | None = None
    n_base: int = 0  # entries that came from the base (the rest were added by the extension)
    extra: dict[str, Any] = field(default_factory=dict)

    def padded(self, rows: int) -> GGUFVocab:
        """Unused `[PAD{i}]` entries up to `rows` (a model whose matrices are padded past its tokenizer)."""
        if rows < len(self.tokens):
            raise TokenizerError(f"the tokenizer has {len(self.tokens)} entries but the model only {rows} rows",
                                 hint="export the model directory that `vocabx extend` wrote, tokenizer and weights together")
        pad = range(len(self.tokens), rows)
        self.tokens += [f"[PAD{i}]" for i in pad]
        self.types += [UNUSED] * len(pad)
        if self.scores is not None:
            self.scores += [-1000.0] * len(pad)
        return self

    def write(self, writer: Any, special_dir: Path | None) -> None:
        """Add the vocabulary keys to a `gguf.GGUFWriter`; specials and template from `special_dir`'s config files."""
        gguf = require("gguf", "writing GGUF files")
        writer.add_tokenizer_model(self.model)
        writer.add_tokenizer_pre(self.pre)
        writer.add_token_list(self.tokens)
        writer.add_token_types(self.types)
        if self.scores is not None:
            writer.add_token_scores(self.scores)
        if self.merges is not None:
            writer.add_token_merges(self.merges)
        if self.add_space_prefix is not None:
            writer.add_add_space_prefix(self.add_space_prefix)
        if special_dir is not None:
            gguf.SpecialVocab(special_dir, load_merges=False, n_vocab=len(self.tokens)).add_to_gguf(writer)


def from_directory(directory: Path, pre: str) -> GGUFVocab:
    """The vocabulary of a tokenizer directory: tokenizer.model (SentencePiece) wins, else a byte-level tokenizer.json."""
    if (directory / "tokenizer.model").is_file():
        return _sentencepiece(directory / "tokenizer.model")
    spec_path = directory / "tokenizer.json"
    if not spec_path.is_file():
        raise TokenizerError(f"{directory} has no tokenizer.json or tokenizer.model", hint=f"llama.cpp needs {SUPPORTED}")
    return _bytelevel(json.loads(spec_path.read_text(encoding="utf-8")), pre, directory)


def _bytelevel(spec: dict[str, Any], pre: str, source: Path) -> GGUFVocab:
    from vocabx.adapters.hf import detect_family

    family = detect_family(spec)
    if family != "bytelevel-bpe":
        raise TokenizerError(f"{source}: a {family} tokenizer, which llama.cpp cannot represent as vocabx extends it",
                             hint=f"export {SUPPORTED}")
    by_id = {i: t for t, i in spec["model"]["vocab"].items()}
    types = {i: NORMAL for i in by_id}
    for added in spec.get("added_tokens", []):
        by_id[added["id"]] = added["content"]
        types[added["id"]] = CONTROL if added.get("special") else USER_DEFINED
    size = max(by_id) + 1
    tokens = [by_id.get(i, f"[PAD{i}]") for i in range(size)]
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"].get("merges", [])]
    return GGUFVocab("gpt2", pre, tokens, [types.get(i, UNUSED) for i in range(size)], merges=merges, n_base=size)


def _sentencepiece(path: Path) -> GGUFVocab:
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.ParseFromString(path.read_bytes())
    if proto.trainer_spec.model_type != 2:
        raise TokenizerError(f"{path} is a SentencePiece Unigram model; vocabx exports SentencePiece BPE",
                             hint=f"export {SUPPORTED}")
    pieces = list(proto.pieces)
    return GGUFVocab(
        "llama", "default", [p.piece for p in pieces], [int(p.type) for p in pieces], scores=[p.score for p in pieces],
        add_space_prefix=proto.normalizer_spec.add_dummy_prefix, n_base=len(pieces),
    )


def base_arrays(reader: Any) -> dict[str, list]:
    """The vocabulary arrays of a GGUF (tokens, types, merges, scores), as Python lists."""
    out: dict[str, list] = {}
    for key in ARRAY_KEYS:
        f = reader.fields.get(key)
        if f is not None:
            out[key] = list(f.contents())
    return out


def appended_to(reader: Any, extended: GGUFVocab) -> GGUFVocab:
    """The base GGUF's vocabulary with the extension's new entries (ids past the base) appended as normal tokens.

    The extension's old entries must be the base's own: a tokenizer that disagrees with the base is refused."""
    arrays = base_arrays(reader)
    tokens = arrays["tokenizer.ggml.tokens"]
    n = len(tokens)
    differ = [i for i in range(min(n, len(extended.tokens))) if extended.tokens[i] != tokens[i]]
    if differ or len(extended.tokens) < n:
        i = differ[0] if differ else len(extended.tokens)
        raise TokenizerError(
            f"the tokenizer does not extend the base GGUF's vocabulary (first difference at id {i})",
            hint="export with the GGUF of the base this model was extended from, or --outtype f32 (llama.cpp's converter)")
    merged = GGUFVocab(extended.model, extended.pre, tokens + extended.tokens[n:],
                       arrays["tokenizer.ggml.token_type"] + [NORMAL] * (len(extended.tokens) - n), n_base=n)
    if "tokenizer.ggml.merges" in arrays:
        old = arrays["tokenizer.ggml.merges"]
        if extended.merges is None or extended.merges[: len(old)] != old:
            raise TokenizerError("the extension's merges do not start with the base GGUF's merges",
                                 hint="export with the base GGUF that `vocabx extend` started from")
        merged.merges = old + extended.merges[len(old):]
    if "tokenizer.ggml.scores" in arrays:
        merged.scores = arrays["tokenizer.ggml.scores"] + list(extended.scores or [])[n:]
    return merged
