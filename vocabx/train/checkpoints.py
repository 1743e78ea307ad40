"""A run's checkpoints (OUT/checkpoints/STAGE/checkpoint-N): which are complete, the last complete one to resume
from, removing the incomplete ones a kill or a full disk leaves, and a truthful sentence on what a run kept."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "checkpoint-"
STATE_NAME = "trainer_state.json"


def checkpoint_step(path: str | Path) -> int | None:
    """`checkpoint-40` -> 40; None for any other name."""
    name = Path(path).name
    digits = name[len(PREFIX):]
    return int(digits) if name.startswith(PREFIX) and digits.isdigit() else None


def is_complete(path: Path) -> bool:
    """Complete when trainer_state.json parses and names the checkpoint's own step: the Trainer writes it after the
    weights, optimizer, scheduler and RNG states, so a kill or a full disk before then leaves it missing or torn."""
    try:
        state = json.loads((path / STATE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(state, dict) and state.get("global_step") == checkpoint_step(path)


def stage_checkpoints(stage_dir: Path) -> list[Path]:
    """The checkpoint folders of one stage, complete or not, by step."""
    if not stage_dir.is_dir():
        return []
    found = [p for p in stage_dir.iterdir() if p.is_dir() and checkpoint_step(p) is not None]
    return sorted(found, key=lambda p: checkpoint_step(p) or 0)


def last_complete(stage_dir: Path) -> Path | None:
    """The newest complete checkpoint of a stage (the resume point), or None."""
    return next((p for p in reversed(stage_checkpoints(stage_dir)) if is_complete(p)), None)


def discard_incomplete(checkpoints: Path) -> list[Path]:
    """Remove the incomplete checkpoint folders under OUT/checkpoints (every stage); return what was removed."""
    removed = []
    stages = [p for p in checkpoints.iterdir() if p.is_dir()] if checkpoints.is_dir() else []
    for stage_dir in stages:
        for ckpt in stage_checkpoints(stage_dir):
            if not is_complete(ckpt):
                log.info("removing the incomplete checkpoint %s", ckpt)
                shutil.rmtree(ckpt, ignore_errors=True)
                removed.append(ckpt)
    return removed


def describe_kept(run_dir: Path) -> str:
    """What a stopped run keeps, for its error message: `kept checkpoints embed/checkpoint-2, full/checkpoint-4 in
    OUT`, or that no checkpoint was complete yet."""
    root = run_dir / "checkpoints"
    stages = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    kept = [f"{stage.name}/{ckpt.name}" for stage in stages if (ckpt := last_complete(stage)) is not None]
    if not kept:
        return f"no checkpoint was complete yet in {run_dir} (--resume starts over; see --save-steps)"
    return f"kept checkpoints {', '.join(kept)} in {root}"
