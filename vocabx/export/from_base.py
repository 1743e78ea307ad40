"""GGUF in, GGUF out: an untrained extension of a GGUF base (the embedded SmolLM2 is one) exported without
converting the model: the base GGUF's tensors are copied as stored and only the new rows are added.

The new rows come from MODEL's weights (refused unless its old rows equal the base GGUF's rows dequantized, bit
for bit), or, for a tokenizer-only extension, are initialized here from the base GGUF's own embedding
(subword-mean, as `vocabx extend` does): no Hugging Face weights at all. MODEL must be the output of `vocabx
extend` (a trained model changed other weights, which this route would drop: use llama.cpp's converter).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vocabx.errors import ModelError, UsageError
from vocabx.export.ggufwrite import EMBED, OUTPUT, dequantized_rows, grow_gguf
from vocabx.export.vocab import appended_to, from_directory
from vocabx.model.methods import DEFAULT_INIT

INIT_METHOD = DEFAULT_INIT  # vocabx extend's default; keeps a tied head tied (one matrix in the GGUF)


def grow_from_base(model_dir: Path, out: Path, pre: str, rows: int | None, base_gguf: str | None) -> dict[str, Any]:
    """Write OUT from the base GGUF plus the new rows (MODEL's, or initialized here when `rows` is None: MODEL
    has no weights); return counts (rows per grown tensor, tensor type, initialization)."""
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
    if rows is None:  # a tokenizer-only extension: the rows are initialized from the base GGUF's embedding
        new_rows, how = _initialized_rows(model_dir, manifest, base, reader, old)
        vocab = appended_to(reader, from_directory(model_dir, pre))
        counts = grow_gguf(reader, out, vocab, new_rows)
        return {**counts, "base_gguf": str(base), "base_rows": n_old, "new_rows": len(vocab.tokens) - n_old,
                "init": INIT_METHOD, "init_counts": how}
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


def _initialized_rows(model_dir: Path, manifest: dict[str, Any], base: Path, reader: Any,
                      old: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Rows for new_entries.tsv by subword-mean of the base GGUF's dequantized embedding, and of its output head
    when the GGUF stores one (a tied GGUF has one matrix)."""
    import torch

    from vocabx.adapters import load_tokenizer
    from vocabx.extend.entries import read_entries
    from vocabx.model.init import base_pieces, init_rows

    entries = sorted(read_entries(model_dir) or [], key=lambda e: e.id)
    if [e.id for e in entries] != list(range(old.shape[0], old.shape[0] + len(entries))):
        raise UsageError(f"{model_dir}: new_entries.tsv does not list ids {old.shape[0]}.. without gaps",
                         hint="export the directory `vocabx extend` wrote, unchanged")
    tokenizer = load_tokenizer(str((manifest.get("config") or {}).get("base") or base))
    pieces = [base_pieces(e, tokenizer) for e in entries]
    rows, how = init_rows(INIT_METHOD, torch.from_numpy(np.ascontiguousarray(old)), pieces, seed=0)
    out = {EMBED: rows.numpy()}
    if any(t.name == OUTPUT for t in reader.tensors):
        head = torch.from_numpy(np.ascontiguousarray(dequantized_rows(reader, OUTPUT)))
        out[OUTPUT] = init_rows(INIT_METHOD, head, pieces, seed=1)[0].numpy()
    return out, how


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
    from vocabx.adapters.builtin import BUILTIN_TOKENIZERS, builtin_path
    from vocabx.model.default import DEFAULT_MODEL

    base = str((manifest.get("config") or {}).get("base", ""))
    if base == DEFAULT_MODEL:
        return builtin_path("smollm2")
    if base in BUILTIN_TOKENIZERS and BUILTIN_TOKENIZERS[base].path.endswith(".gguf"):
        return builtin_path(base)
    path = Path(base).expanduser()
    ggufs = sorted(path.glob("*.gguf")) if path.is_dir() else [path] if path.suffix.lower() == ".gguf" else []
    if len(ggufs) == 1 and ggufs[0].is_file():
        return ggufs[0]
    raise UsageError(f"{model_dir} was not extended from a GGUF model (base {base or 'unknown'})",
                     hint="pass --base-gguf FILE, or export with --outtype f32/f16/bf16/q8_0")
