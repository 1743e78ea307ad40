"""`export_gguf(config)`: the library call behind `vocabx export gguf`. Checks MODEL (tokenizer family llama.cpp can
represent, tokenizer and rows agreeing, unquantized weights), finds the base's pre-tokenizer type, and writes
OUT atomically by one of three routes: vocabulary only (vocabx's writer), llama.cpp's converter told the
pre-tokenizer (f32/f16/bf16/q8_0), or GGUF in, GGUF out from the base GGUF (`--outtype base`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vocabx.adapters import load_tokenizer
from vocabx.adapters.base import TokenizerAdapter
from vocabx.errors import ModelError, OutputError, TokenizerError
from vocabx.export.config import GGUFExportConfig
from vocabx.export.pretok import resolve_pre
from vocabx.export.vocab import SUPPORTED, from_directory
from vocabx.outputs import file_mode

log = logging.getLogger(__name__)

FAMILIES = ("bytelevel-bpe", "sentencepiece-bpe")


@dataclass
class GGUFExportResult:
    """What was written, by which route, with which pre-tokenizer type, and how long it took."""

    out: Path
    route: str  # "vocab-only", "converter" or "gguf-base"
    outtype: str
    pre: str
    pre_source: str
    tokens: int
    new_tokens: int
    bytes: int
    seconds: float
    counts: dict[str, Any] = field(default_factory=dict)


def export_gguf(cfg: GGUFExportConfig, progress: bool = False) -> GGUFExportResult:
    """Write MODEL as a GGUF file at OUT; see the module docstring for the routes."""
    start = time.perf_counter()
    model_dir = model_directory(cfg.model, progress)
    out = check_output_file(cfg.out, cfg.force, [model_dir])
    adapter = directory_tokenizer(model_dir)
    if adapter.family not in FAMILIES:
        raise TokenizerError(f"{cfg.model} has a {adapter.family} tokenizer, which llama.cpp cannot represent",
                             hint=f"llama.cpp's GGUF vocabularies take {SUPPORTED}")
    base_size = recorded_base_size(model_dir)
    converter = Path(cfg.converter) if cfg.converter else None
    pre, how = resolve_pre(model_dir, cfg.pre, adapter.family, getattr(adapter, "json_text", None), base_size, converter)
    has_weights = _has_weights(model_dir)
    route = ("vocab-only" if cfg.vocab_only else "gguf-base" if cfg.outtype == "base"
             else "converter" if has_weights else "vocab-only")
    counts: dict[str, Any] = {}
    with atomic_file(out) as tmp:
        if route == "vocab-only":
            from vocabx.export.ggufwrite import write_vocab_only

            write_vocab_only(tmp, from_directory(model_dir, pre), model_dir, name=model_dir.name)
        elif route == "gguf-base":
            from vocabx.export.from_base import grow_from_base

            rows = check_rows(model_dir, adapter) if has_weights else None
            counts.update(grow_from_base(model_dir, tmp, pre, rows, cfg.base_gguf))
        else:
            from vocabx.export.converter import find_converter, run_converter

            counts["rows"] = check_rows(model_dir, adapter)
            counts["converter_seconds"] = run_converter(model_dir, tmp, cfg.outtype, pre, find_converter(cfg.converter))
    new = adapter.vocab_size - base_size if base_size else 0
    return GGUFExportResult(out, route, "vocab" if route == "vocab-only" else cfg.outtype, pre, how, adapter.vocab_size,
                            new, out.stat().st_size, round(time.perf_counter() - start, 2), counts)


def directory_tokenizer(model_dir: Path) -> TokenizerAdapter:
    """The tokenizer a GGUF vocabulary is built from: tokenizer.model (SentencePiece, with its scores) where
    present, else what `load_tokenizer` reads (tokenizer.json)."""
    if (model_dir / "tokenizer.model").is_file():
        from vocabx.adapters.sentencepiece import SentencePieceAdapter

        return SentencePieceAdapter.from_file(model_dir / "tokenizer.model")
    return load_tokenizer(model_dir)


def model_directory(spec: str, progress: bool = False) -> Path:
    """MODEL as a directory: a path, or a built-in model name resolved to its cached directory."""
    path = Path(spec).expanduser()
    if path.is_dir():
        return path.resolve()
    from vocabx.model.api import is_model, resolve_model

    if not path.exists() and is_model(spec):
        return resolve_model(spec, progress)
    raise ModelError(f"{spec} is not a model or tokenizer directory",
                     hint="pass the directory `vocabx extend` or `vocabx train` wrote, or smollm2-135m")


def check_output_file(out: str, force: bool, inputs: list[Path]) -> Path:
    path = Path(out).expanduser().resolve()
    if path.is_dir():
        raise OutputError(f"output {path} is a directory", hint="pass --out FILE.gguf")
    if path.exists() and not force:
        raise OutputError(f"output {path} already exists", hint="choose a new --out, or pass --force to replace it")
    if any(p == path.parent or p in path.parents for p in inputs):
        raise OutputError(f"output {path} is inside the input {inputs[0]}", hint="choose an --out outside MODEL")
    return path


@contextlib.contextmanager
def atomic_file(out: Path) -> Iterator[Path]:
    """A temporary path beside OUT, renamed into place on success and removed on any error."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, file_mode())  # mkstemp made it 0600
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def recorded_base_size(model_dir: Path) -> int | None:
    """counts.base_vocab_size from the manifest `vocabx extend` wrote (kept by train runs too), if any."""
    try:
        manifest = json.loads((model_dir / "manifest.json").read_text(encoding="utf-8"))
        value = manifest.get("counts", {}).get("base_vocab_size")
    except (OSError, ValueError, AttributeError):
        return None
    return int(value) if value else None


def _has_weights(model_dir: Path) -> bool:
    return any(next(model_dir.glob(g), None) for g in ("*.safetensors", "*.safetensors.index.json", "pytorch_model*.bin"))


def check_rows(model_dir: Path, adapter: TokenizerAdapter) -> int:
    """The embedding's row count, after refusing quantized weights and a tokenizer with more ids than rows."""
    from vocabx.model.checkpoint import read_checkpoint

    ckpt = read_checkpoint(model_dir)  # refuses GPTQ/AWQ/bitsandbytes/FP8 weights with a one-line error
    if adapter.vocab_size > ckpt.rows:
        raise ModelError(f"{model_dir}: the tokenizer has {adapter.vocab_size} ids but the embedding only {ckpt.rows} rows",
                         hint="the tokenizer was extended without the model: run `vocabx extend MODEL ...` to grow both")
    return ckpt.rows
