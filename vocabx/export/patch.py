"""`export_patch(config)`: an extended model as a small patch against its base. What the patch directory holds:

    patch.json         format, the base's file hashes, and how each of MODEL's files is rebuilt (with its hash)
    rows.safetensors   the new embedding/head rows only (from the first row that differs from the base)
    deltas/NAME.json   byte deltas of changed small files (tokenizer.json: new entries and merges; config.json)
    files/NAME         files the base has no version of (new_entries.tsv, MODEL's manifest.json)
    manifest.json      the patch's own manifest (sizes, inputs)

Before the patch is written it is applied to the base in a scratch directory and every rebuilt file's hash is
compared with MODEL's: a patch that would not rebuild MODEL bit for bit is never written.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from vocabx.errors import ModelError
from vocabx.export.config import PatchExportConfig
from vocabx.export.delta import diff, inserted_bytes
from vocabx.outputs import (
    MANIFEST_NAME,
    atomic_output_dir,
    build_manifest,
    check_output_dir,
    file_mode,
    file_sha256,
    write_json,
)

log = logging.getLogger(__name__)

FORMAT = "vocabx-patch v1"
PATCH_FILE, ROWS_FILE = "patch.json", "rows.safetensors"
DELTA_MAX_BYTES = 64 << 20  # files larger than this are not line-diffed (weights are rebuilt from rows instead)


def export_patch(cfg: PatchExportConfig, progress: bool = False) -> dict[str, Any]:
    """Write PATCH for MODEL against its base; return sizes and how each file is carried."""
    from vocabx.export.apply import rebuild
    from vocabx.export.to_gguf import model_directory

    start = time.perf_counter()
    model_dir = model_directory(cfg.model)
    base_spec = cfg.base or recorded_base(model_dir)
    base_dir = model_directory(base_spec, progress)
    out = check_output_dir(cfg.out, force=cfg.force, inputs=[model_dir, base_dir])
    with atomic_output_dir(out, force=cfg.force) as tmp:
        plan = build_patch(model_dir, base_dir, base_spec, tmp)
        write_json(tmp / PATCH_FILE, plan)
        with tempfile.TemporaryDirectory(prefix=".vocabx-patch-check-", dir=out.parent) as scratch:
            rebuild(tmp, base_dir, Path(scratch) / "model")  # raises when a rebuilt file's hash differs
        sizes = _sizes(tmp, model_dir)
        write_json(tmp / MANIFEST_NAME, build_manifest("export patch", cfg, [model_dir, base_dir], sizes,
                                                       [p.name for p in tmp.iterdir()] + [MANIFEST_NAME]))
    return {"out": str(out), "base": base_spec, **sizes, "seconds": round(time.perf_counter() - start, 2)}


def recorded_base(model_dir: Path) -> str:
    try:
        base = json.loads((model_dir / MANIFEST_NAME).read_text(encoding="utf-8"))["config"]["base"]
    except (OSError, ValueError, KeyError, TypeError):
        base = None
    if not base:
        raise ModelError(f"{model_dir}/manifest.json records no base", hint="pass --base BASE_DIR")
    return str(base)


def base_hashes(base_dir: Path) -> dict[str, str]:
    """sha256 of every file of the base directory (top level): what `apply` checks it is given."""
    return {p.name: file_sha256(p) for p in sorted(base_dir.iterdir()) if p.is_file()}


def build_patch(model_dir: Path, base_dir: Path, base_spec: str, tmp: Path) -> dict[str, Any]:
    """Fill `tmp` with rows, deltas and whole files; return the plan that patch.json records."""
    base = base_hashes(base_dir)
    files: dict[str, Any] = {}
    shards, rows = _weight_plan(model_dir, base_dir, tmp)
    for path in sorted(p for p in model_dir.iterdir() if p.is_file()):
        digest = file_sha256(path)
        entry: dict[str, Any] = {"sha256": digest, "bytes": path.stat().st_size}
        if base.get(path.name) == digest:
            entry["how"] = "base"
        elif path.name in shards:
            entry["how"] = "rows"
        elif path.name in base and path.stat().st_size <= DELTA_MAX_BYTES:
            against = delta_source(base_dir / path.name)
            ops = diff(against, path.read_bytes())
            write_json(tmp / "deltas" / f"{path.name}.json", ops)
            entry.update(how="delta", inserted_bytes=inserted_bytes(ops))
        else:
            (tmp / "files").mkdir(exist_ok=True)
            (tmp / "files" / path.name).write_bytes(path.read_bytes())
            entry["how"] = "whole"
        files[path.name] = entry
    return {"format": FORMAT, "base": {"spec": base_spec, "files": base}, "files": files, "rows": rows}


def delta_source(path: Path) -> bytes:
    """What a delta is taken against: a JSON file re-serialized with one value per line (indent 2), so that a base
    stored as one long line (a converted tokenizer.json) still diffs line by line; other files as they are."""
    data = path.read_bytes()
    if path.suffix != ".json":
        return data
    try:
        return (json.dumps(json.loads(data), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    except ValueError:
        return data


def _weight_plan(model_dir: Path, base_dir: Path, tmp: Path) -> tuple[set[str], dict[str, Any]]:
    """The vocabulary-sized tensors' new rows into rows.safetensors; the shards they live in are rebuilt by apply."""
    from safetensors.torch import save_file

    from vocabx.model.checkpoint import read_checkpoint
    from vocabx.model.surgery import read_tensor

    if not any(model_dir.glob("*.safetensors")):
        return set(), {}
    ckpt, base = read_checkpoint(model_dir), read_checkpoint(base_dir)
    stored, plan = {}, {}
    for name in filter(None, (ckpt.input_name, ckpt.output_name)):
        grown = read_tensor(ckpt, name)
        source = name if name in base.tensors else base.input_name  # an untied head starts as the base embedding
        old = read_tensor(base, source)
        first = _first_changed_row(old, grown)
        stored[name] = grown[first:].contiguous()
        plan[name] = {"from": source, "start": first, "rows": int(grown.shape[0]), "dtype": str(grown.dtype)}
    save_file(stored, str(tmp / ROWS_FILE), metadata={"format": FORMAT})
    (tmp / ROWS_FILE).chmod(file_mode())  # save_file leaves it 0600
    shards = {ckpt.tensors[n].file for n in plan}
    if ckpt.index is not None:
        shards.add("model.safetensors.index.json")
    return shards, plan


def _first_changed_row(old: torch.Tensor, new: torch.Tensor) -> int:
    """The first row where `new` differs from `old` bit for bit (or `old`'s length when only rows were added)."""
    n = min(old.shape[0], new.shape[0])
    if old.shape[1:] != new.shape[1:] or old.dtype != new.dtype:
        return 0
    same = (old[:n].view(torch.uint8) == new[:n].view(torch.uint8)).all(dim=1) if n else torch.ones(0, dtype=torch.bool)
    changed = (~same).nonzero()
    return int(changed[0]) if len(changed) else n


def _sizes(patch_dir: Path, model_dir: Path) -> dict[str, Any]:
    patch_bytes = sum(p.stat().st_size for p in patch_dir.rglob("*") if p.is_file())
    model_bytes = sum(p.stat().st_size for p in model_dir.iterdir() if p.is_file())
    rows = patch_dir / ROWS_FILE
    return {"patch_bytes": patch_bytes, "model_bytes": model_bytes,
            "rows_bytes": rows.stat().st_size if rows.is_file() else 0,
            "ratio": round(patch_bytes / model_bytes, 5) if model_bytes else None}
