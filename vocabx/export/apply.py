"""`apply_patch(config)`: rebuild an extended model from a patch (`vocabx export patch`) and its base, bit for bit.

The base is checked first (every file the patch needs must have the hash the patch recorded: a wrong base is a
one-line error); the rebuilt files are checked last (each must have MODEL's hash), and OUT appears only then.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from vocabx.errors import ModelError, UsageError
from vocabx.export.config import ApplyConfig
from vocabx.export.delta import apply as apply_delta
from vocabx.export.patch import FORMAT, PATCH_FILE, ROWS_FILE, delta_source
from vocabx.outputs import atomic_output_dir, check_output_dir, file_sha256

log = logging.getLogger(__name__)


def apply_patch(cfg: ApplyConfig, progress: bool = False) -> dict[str, Any]:
    """Write OUT = BASE + PATCH; return counts of files by how they were rebuilt."""
    from vocabx.export.to_gguf import model_directory

    start = time.perf_counter()
    patch_dir = Path(cfg.patch).expanduser().resolve()
    base_dir = model_directory(cfg.base, progress)
    out = check_output_dir(cfg.out, force=cfg.force, inputs=[patch_dir, base_dir])
    with atomic_output_dir(out, force=cfg.force) as tmp:
        counts = rebuild(patch_dir, base_dir, tmp)
    return {"out": str(out), **counts, "seconds": round(time.perf_counter() - start, 2)}


def read_plan(patch_dir: Path) -> dict[str, Any]:
    try:
        plan = json.loads((patch_dir / PATCH_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{patch_dir} is not a vocabx patch ({PATCH_FILE}: {exc})",
                         hint="pass a directory written by `vocabx export patch`") from exc
    if plan.get("format") != FORMAT:
        raise UsageError(f"{patch_dir}: patch format {plan.get('format')!r}, expected {FORMAT!r}",
                         hint="rebuild it with this version's `vocabx export patch`")
    return plan


def check_base(plan: dict[str, Any], base_dir: Path) -> None:
    """Every base file the patch reads must be the one it was made against."""
    needed = {name for name, e in plan["files"].items() if e["how"] in ("base", "delta")}
    needed |= {n for n in plan["base"]["files"] if n.endswith((".safetensors", ".index.json"))}
    for name in sorted(needed):
        want = plan["base"]["files"].get(name)
        path = base_dir / name
        have = file_sha256(path) if path.is_file() else None
        if want is not None and have != want:
            got = f"sha256 {have[:12]}" if have else "missing"
            raise ModelError(f"the base {base_dir} does not match the patch: {name} is {got}, expected {want[:12]}",
                             hint=f"apply the patch to the base it was made from ({plan['base']['spec']})")


def rebuild(patch_dir: Path, base_dir: Path, out: Path) -> dict[str, int]:
    """Write the patched model into `out` (created); raise if any file's hash is not the recorded one."""
    plan = read_plan(patch_dir)
    check_base(plan, base_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts = {"base": 0, "delta": 0, "whole": 0, "rows": 0}
    if plan["rows"]:
        _rebuild_weights(plan, patch_dir, base_dir, out)
    for name, entry in plan["files"].items():
        how = entry["how"]
        if how == "base":
            shutil.copyfile(base_dir / name, out / name)
        elif how == "delta":
            ops = json.loads((patch_dir / "deltas" / f"{name}.json").read_text(encoding="utf-8"))
            (out / name).write_bytes(apply_delta(delta_source(base_dir / name), ops))
        elif how == "whole":
            shutil.copyfile(patch_dir / "files" / name, out / name)
        counts[how] += 1
        if file_sha256(out / name) != entry["sha256"]:
            raise ModelError(f"the rebuilt {name} differs from the patched model's (hash mismatch)",
                             hint="the patch or the base is damaged; export the patch again")
    return {f"files_{k}": v for k, v in counts.items()}


def _rebuild_weights(plan: dict[str, Any], patch_dir: Path, base_dir: Path, out: Path) -> None:
    """The base checkpoint with each vocabulary tensor = its first rows from the base + the patch's rows."""
    from safetensors import safe_open

    from vocabx.model.checkpoint import read_checkpoint
    from vocabx.model.surgery import read_tensor, write_checkpoint

    base = read_checkpoint(base_dir)
    replace: dict[str, torch.Tensor] = {}
    add: dict[str, torch.Tensor] = {}
    with safe_open(str(patch_dir / ROWS_FILE), framework="pt") as fh:
        for name, entry in plan["rows"].items():
            head = read_tensor(base, entry["from"])[: entry["start"]]
            tensor = torch.cat([head, fh.get_tensor(name)]) if entry["start"] else fh.get_tensor(name)
            (replace if name in base.tensors else add)[name] = tensor
    write_checkpoint(base, out, replace, add)
