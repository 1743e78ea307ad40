"""A training run's directory: created at the start (checkpoints must outlive a kill), checked on --resume against
the saved config, and completed by moving the final model in from a temporary sibling and writing manifest.json."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vocabx.errors import OutputError, UsageError
from vocabx.outputs import MANIFEST_NAME, check_output_dir, to_jsonable, write_json
from vocabx.train.config import RunConfig

log = logging.getLogger(__name__)

CONFIG_NAME = "train_config.json"  # the resolved config of a run in progress; compared on --resume
FINAL_TMP = ".final.tmp"


@contextmanager
def disk_full_as_error(out: Path) -> Iterator[None]:
    """A full disk while a stage writes its checkpoints becomes an OutputError that says how to go on."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise OutputError(f"disk full while writing a checkpoint under {out}/checkpoints",
                              hint="free space, then rerun with --resume") from exc
        raise


def prepare_run_dir(cfg: RunConfig, command: str, inputs: Sequence[str | Path]) -> Path:
    """Create OUT for a new run, or check it for --resume; refuse an existing OUT otherwise."""
    out = check_output_dir(cfg.out, force=True, inputs=inputs)
    if cfg.resume:
        _check_resumable(out, cfg, command)
        return out
    if out.exists() and not cfg.force:
        hint = "pass --resume to continue it" if (out / CONFIG_NAME).is_file() else "choose a new --out"
        raise OutputError(f"output {out} already exists", hint=f"{hint}, or --force to replace it")
    if out.exists():
        shutil.rmtree(out)
    (out / "checkpoints").mkdir(parents=True)
    write_json(out / CONFIG_NAME, {"command": command, "config": cfg})
    return out


def _check_resumable(out: Path, cfg: RunConfig, command: str) -> None:
    saved_path = out / CONFIG_NAME
    if not saved_path.is_file():
        raise UsageError(f"{out} holds no run to resume (no {CONFIG_NAME})", hint="drop --resume to start a new run")
    if (out / MANIFEST_NAME).is_file():
        raise UsageError(f"the run in {out} already finished", hint="choose a new --out for another run")
    saved = json.loads(saved_path.read_text(encoding="utf-8"))
    if saved.get("command") != command:
        raise UsageError(f"{out} is a `{saved.get('command')}` run, not `{command}`", hint="resume it with that command")
    ours = to_jsonable(cfg.training_fields())
    theirs = {k: v for k, v in saved.get("config", {}).items() if k in ours}
    differing = sorted(k for k in ours if ours[k] != theirs.get(k))
    if differing:
        detail = ", ".join(f"{k}: {theirs.get(k)!r} -> {ours[k]!r}" for k in differing)
        raise UsageError(f"cannot resume {out}: the config differs in {detail}",
                         hint="rerun with the saved values, or start a new --out")


def publish_final(out: Path, write: Callable[[Path], list[str]]) -> list[str]:
    """Let `write(tmp)` save the final files into OUT/.final.tmp, then move them into OUT; return their names.

    A full disk or a crash while writing leaves OUT's checkpoints intact and no partial final model.
    """
    tmp = out / FINAL_TMP
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        names = write(tmp)
        for name in sorted(os.listdir(tmp)):
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(tmp / name, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno == errno.ENOSPC:
            raise OutputError(f"disk full while writing the final model into {out}",
                              hint="free space, then rerun with --resume: the checkpoints are intact") from exc
        raise OutputError(f"cannot write the final model into {out}: {exc}",
                          hint="check permissions and space, then rerun with --resume") from exc
    tmp.rmdir()
    return names


def finish_run(out: Path, manifest: dict[str, Any], keep_checkpoints: bool) -> None:
    """Write manifest.json (the mark of a complete run) and drop the checkpoints unless asked to keep them."""
    write_json(out / MANIFEST_NAME, manifest)
    if not keep_checkpoints:
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
    (out / CONFIG_NAME).unlink(missing_ok=True)
