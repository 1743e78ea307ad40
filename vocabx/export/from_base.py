"""GGUF in, GGUF out: an untrained extension of a GGUF base (the embedded SmolLM2 is one) exported without
converting the model: the base GGUF's tensors are copied as stored and only the new rows are read from MODEL.

Refused unless MODEL's old rows equal the base GGUF's rows dequantized, bit for bit, and MODEL is the output of
`vocabx extend` (a trained model changed other weights, which this route would drop: use llama.cpp's converter).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vocabx.errors import ModelError, UsageError
from vocabx.export.ggufwrite import EMBED, OUTPUT, dequantized_rows, grow_gguf
from vocabx.export.vocab import appended_to, from_directory


def grow_from_base(model_dir: Path, out: Path, pre: str, rows: int, base_gguf: str | None) -> dict[str, Any]:
    """Write OUT from the base GGUF plus MODEL's new rows; return counts (rows per grown tensor, tensor type)."""
    import gguf

    from vocabx.model.checkpoint import read_checkpoint
    from vocabx.model.surgery import read_tensor

    manifest = _manifest(model_dir)
    if manifest.get("command") != "extend":
        raise UsageError(f"{model_dir} was written by `vocabx {manifest.get('command', '?')}`, not `vocabx extend`: "
                         "its weights differ from the base GGUF's beyond the new rows",
                         hint="export it with --outtype f32, f16, bf16 or q8_0 (llama.cpp's converter)")
    base = Path(base_gguf) if base_gguf else recorded_base_gguf(manifest, model_dir)
    reader = gguf.GGUFReader(str(base))  # parses every key: seconds for a 49k vocabulary, so opened once
    old = dequantized_rows(reader, EMBED)
    n_old = old.shape[0]
    ckpt = read_checkpoint(model_dir)
    new_rows = {EMBED: _new_rows(read_tensor(ckpt, ckpt.input_name), old, "embedding", base)}
    has_output = any(t.name == OUTPUT for t in reader.tensors)
    if ckpt.output_name is not None:
        # An untied head: its old rows are the base's head (or, for a tied base, its embedding).
        reference = dequantized_rows(reader, OUTPUT) if has_output else old
        new_rows[OUTPUT] = _new_rows(read_tensor(ckpt, ckpt.output_name), reference, "output head", base)
    vocab = appended_to(reader, from_directory(model_dir, pre)).padded(rows)
    counts = grow_gguf(reader, out, vocab, new_rows)
    counts.update(base_gguf=str(base), base_rows=n_old, new_rows=rows - n_old)
    return counts


def _new_rows(matrix: Any, old: np.ndarray, what: str, base: Path) -> np.ndarray:
    grown = matrix.float().numpy()
    n_old = old.shape[0]
    if grown.shape[0] < n_old or grown.shape[1] != old.shape[1] or not np.array_equal(grown[:n_old], old):
        raise ModelError(f"the model's {what} rows are not {base.name}'s rows (shape {list(grown.shape)} vs "
                         f"{list(old.shape)}, or changed values)",
                         hint="pass --base-gguf the GGUF the extension started from, or use --outtype f32/f16/q8_0")
    return grown[n_old:]


def _manifest(model_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((model_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    return data if isinstance(data, dict) else {}


def recorded_base_gguf(manifest: dict[str, Any], model_dir: Path) -> Path:
    """The GGUF that `vocabx extend` started from, as its manifest records it (the built-in name or a path)."""
    from vocabx.model.default import DEFAULT_MODEL

    base = str((manifest.get("config") or {}).get("base", ""))
    if base == DEFAULT_MODEL:
        from vocabx.adapters.builtin import builtin_path

        return builtin_path("smollm2")
    path = Path(base).expanduser()
    ggufs = sorted(path.glob("*.gguf")) if path.is_dir() else [path] if path.suffix.lower() == ".gguf" else []
    if len(ggufs) == 1 and ggufs[0].is_file():
        return ggufs[0]
    raise UsageError(f"{model_dir} was not extended from a GGUF model (base {base or 'unknown'})",
                     hint="pass --base-gguf FILE, or export with --outtype f32/f16/bf16/q8_0")
