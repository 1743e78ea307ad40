"""Config dataclasses of `vocabx export gguf`, `vocabx export patch` and `vocabx apply`. Flags mirror field names;
`--config FILE` fills the same fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vocabx.config import check_choices
from vocabx.config import documented as _help
from vocabx.errors import UsageError

OutType = Literal["f32", "f16", "bf16", "q8_0", "base"]


@dataclass(kw_only=True)
class GGUFExportConfig:
    """`vocabx export gguf MODEL --out FILE.gguf`: a GGUF that llama.cpp loads, tokenizing as the HF tokenizer does."""

    model: str = _help("Model or tokenizer directory (a `vocabx extend` OUT, a trained model) or smollm2-135m.", "")
    out: str = _help("The .gguf file to write (refused if it exists, unless --force).", "")
    outtype: OutType = _help(
        "Tensor type: f32/f16/bf16/q8_0 through llama.cpp's converter; base: GGUF in, GGUF out, the base GGUF's "
        "tensors as stored plus the new rows in the same type (an untrained extension of a GGUF base; for a "
        "tokenizer-only extension the rows are initialized from the GGUF's embedding).", "f16")
    vocab_only: bool = _help("Write only the vocabulary (what `llama.cpp` loads with vocab_only to tokenize).", False)
    pre: str | None = _help("llama.cpp pre-tokenizer type; default: the one `vocabx extend` recorded for the base.")
    base_gguf: str | None = _help("For --outtype base: the base GGUF; default: the GGUF the extension started from.")
    converter: str | None = _help("A llama.cpp directory with convert_hf_to_gguf.py; default: $VOCABX_LLAMA_CPP, "
                                  "else the one `make install` unpacked from the llama-cpp-python sdist.")
    force: bool = _help("Replace an existing OUT.", False)

    def __post_init__(self) -> None:
        if not self.model:
            raise UsageError("no model given", hint="pass MODEL: a model or tokenizer directory")
        if not self.out:
            raise UsageError("no output file given", hint="pass --out FILE.gguf")
        check_choices(self)


@dataclass(kw_only=True)
class PatchExportConfig:
    """`vocabx export patch MODEL --out PATCH`: the tokenizer difference and the new rows only, with base hashes."""

    model: str = _help("The extended model directory (a `vocabx extend` OUT).", "")
    out: str = _help("The patch directory to write (refused if it exists, unless --force).", "")
    base: str | None = _help("The base model; default: the base recorded in MODEL/manifest.json.")
    force: bool = _help("Replace an existing OUT.", False)

    def __post_init__(self) -> None:
        if not self.model or not self.out:
            raise UsageError("export patch needs MODEL and --out", hint="vocabx export patch MODEL --out PATCH")


@dataclass(kw_only=True)
class ApplyConfig:
    """`vocabx apply PATCH BASE --out OUT`: rebuild the extended model from a patch and its base, bit for bit."""

    patch: str = _help("A patch directory written by `vocabx export patch`.", "")
    base: str = _help("The base model the patch was made against (a directory or smollm2-135m).", "")
    out: str = _help("The model directory to write (refused if it exists, unless --force).", "")
    force: bool = _help("Replace an existing OUT.", False)

    def __post_init__(self) -> None:
        if not self.patch or not self.base or not self.out:
            raise UsageError("apply needs PATCH, BASE and --out", hint="vocabx apply PATCH BASE --out OUT")
