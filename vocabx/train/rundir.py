"""A training run's directory: created at the start (checkpoints must outlive a kill), checked on --resume against
the saved config, and completed by moving the final model in from a temporary sibling and writing manifest.json.

A new run trains in OUT itself. `--force` on an existing OUT trains in a staging sibling (`.OUT.next`) and swaps
it in only once complete, so a kill never leaves the user with neither the old run nor the new one; `--resume`
finds the staged run. A kill, Ctrl-C or a full disk at any moment leaves a run that `--resume` finishes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from vocabx.errors import Interrupted, OutputError, UsageError
from vocabx.outputs import (
    MANIFEST_NAME,
    RUN_CONFIG_NAME,
    check_output_dir,
    check_replaceable,
    disk_full,
    ordinary_modes,
    publish_dir,
    refuse_clobbering,
    to_jsonable,
    write_json,
)
from vocabx.train.checkpoints import describe_kept, discard_incomplete
from vocabx.train.config import RunConfig

log = logging.getLogger(__name__)

CONFIG_NAME = RUN_CONFIG_NAME  # the resolved config of a run in progress; compared on --resume
FINAL_TMP = ".final.tmp"
# What a run keeps only to resume: checkpoints, and distillation's cached teacher targets.
RESUME_STATE = ("checkpoints", "teacher")
STAGING_SUFFIX = ".next"
_LOCKS: dict[Path, int] = {}  # run dir -> the open, locked descriptor of its config (released at exit)


def staging_dir(out: Path) -> Path:
    """Where `--force` trains while the previous OUT stays in place: `runs/.cpt.next` for `runs/cpt`."""
    return out.with_name(f".{out.name}{STAGING_SUFFIX}")


def final_out(run_dir: Path) -> Path:
    """The OUT a run directory ends up as (itself, or the OUT its staging name stands for)."""
    name = run_dir.name
    if name.startswith(".") and name.endswith(STAGING_SUFFIX):
        return run_dir.with_name(name[1 : -len(STAGING_SUFFIX)])
    return run_dir


def prepare_run_dir(cfg: RunConfig, command: str, inputs: Sequence[str | Path]) -> Path:
    """Create the run directory for a new run, or find it for --resume; return it (OUT, or its staging sibling
    when --force replaces an existing OUT). The run directory is locked for this process."""
    out = Path(cfg.out).expanduser().resolve()
    refuse_clobbering(out, inputs)
    if cfg.resume:
        run_dir = _resumable(out, cfg, command)
    else:
        run_dir = _new_run_dir(out, cfg)
        try:
            run_dir.mkdir(parents=True)  # exclusive: of two runs started on one OUT, the second stops here
            (run_dir / "checkpoints").mkdir()
            write_json(run_dir / CONFIG_NAME, {"command": command, "config": cfg})
        except FileExistsError:
            raise OutputError(f"output {run_dir} was created by another run just now",
                              hint="choose a new --out, or wait for that run and pass --resume") from None
        except BaseException:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
    _lock(run_dir)
    return run_dir


def _new_run_dir(out: Path, cfg: RunConfig) -> Path:
    staged = staging_dir(out)
    if not out.exists():
        _drop_stale(staged)
        return out
    if not cfg.force:
        hint = "pass --resume to continue it" if _in_progress(out) or _in_progress(staged) else "choose a new --out"
        raise OutputError(f"output {out} already exists", hint=f"{hint}, or --force to replace it")
    check_output_dir(out, force=True)  # only a previous vocabx output may be replaced
    _drop_stale(staged)
    log.info("training in %s; %s is replaced only when this run completes", staged, out)
    return staged


def _drop_stale(staged: Path) -> None:
    """A staging directory left by an earlier --force run that a new run supersedes (vocabx's own files only)."""
    if staged.exists():
        check_replaceable(staged)
        _refuse_if_locked(staged)
        shutil.rmtree(staged)


def _in_progress(run_dir: Path) -> bool:
    return (run_dir / CONFIG_NAME).is_file() and not (run_dir / MANIFEST_NAME).is_file()


def _resumable(out: Path, cfg: RunConfig, command: str) -> Path:
    staged = staging_dir(out)
    run_dir = staged if _in_progress(staged) else out
    saved_path = run_dir / CONFIG_NAME
    if not saved_path.is_file():
        raise UsageError(f"there is no run to resume in {out} (no {CONFIG_NAME})", hint="drop --resume to start a new run")
    if (run_dir / MANIFEST_NAME).is_file():
        raise UsageError(f"the run in {out} already finished", hint="choose a new --out for another run")
    try:
        saved = json.loads(saved_path.read_text(encoding="utf-8"))
    except ValueError:
        raise UsageError(f"{saved_path} is damaged, so the run cannot be resumed",
                         hint="start it again with --force (its checkpoints are then replaced)") from None
    if saved.get("command") != command:
        raise UsageError(f"{out} is a `{saved.get('command')}` run, not `{command}`", hint="resume it with that command")
    ours = to_jsonable(cfg.training_fields())
    theirs = {k: v for k, v in saved.get("config", {}).items() if k in ours}
    differing = sorted(k for k in ours if ours[k] != theirs.get(k))
    if differing:
        detail = ", ".join(f"{k}: {theirs.get(k)!r} -> {ours[k]!r}" for k in differing)
        raise UsageError(f"cannot resume {out}: the config differs in {detail}",
                         hint="rerun with the saved values, or start a new --out")
    (run_dir / "checkpoints").mkdir(exist_ok=True)
    return run_dir


def open_run_dir(state: Any, cfg: RunConfig, command: str, inputs: Sequence[str | Path]) -> Path:
    """`prepare_run_dir` on the main process; every process of a distributed run gets the same path, and an error
    there stops them all (the others would otherwise wait for it forever)."""
    outcome: list[Any] = [None]
    error: Exception | None = None
    if state.is_main_process:
        try:
            outcome[0] = str(prepare_run_dir(cfg, command, inputs))
        except Exception as exc:  # noqa: BLE001 - re-raised below, after the others have heard of it
            error, outcome[0] = exc, f"error: {exc}"
    if state.num_processes > 1:
        from accelerate.utils import broadcast_object_list

        broadcast_object_list(outcome)
    if error is not None:
        raise error
    if str(outcome[0]).startswith("error: "):
        raise OutputError(f"the main process could not prepare the run: {outcome[0][7:]}", hint="see its message")
    return Path(outcome[0])


def finished_run(cfg: RunConfig, command: str, tidy: bool = True) -> dict[str, Any] | None:
    """For --resume of a run that already completed (a kill can land after its manifest was written): finish its
    tidying (when `tidy`: the main process) and return its recorded result; None when there is a run to continue
    or none at all."""
    if not cfg.resume:
        return None
    out = Path(cfg.out).expanduser().resolve()
    staged = staging_dir(out)
    if _in_progress(staged) or _in_progress(out):
        return None
    for run_dir in (staged, out):
        manifest = _read_manifest(run_dir)
        if manifest is None or manifest.get("command") != command:
            continue
        if tidy:
            _refuse_if_locked(run_dir)
            _tidy(run_dir, bool(manifest.get("config", {}).get("keep_checkpoints")))
            if run_dir == staged:
                publish_dir(staged, out, force=True)
        log.info("the run in %s had already finished; nothing to resume", out)
        return {"out": str(out), **manifest.get("counts", {}), "already_finished": True}
    return None


def _read_manifest(run_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((run_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _lock(run_dir: Path) -> None:
    """Hold an exclusive lock on the run for this process's life: a second trainer on the same run is refused."""
    fd = os.open(run_dir / CONFIG_NAME, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutputError(f"another process is training in {run_dir}",
                          hint="wait for it to finish, or choose a new --out") from None
    _LOCKS[run_dir] = fd


def _refuse_if_locked(run_dir: Path) -> None:
    if run_dir in _LOCKS or not (run_dir / CONFIG_NAME).is_file():
        return
    _lock(run_dir)
    _unlock(run_dir)


def _unlock(run_dir: Path) -> None:
    fd = _LOCKS.pop(run_dir, None)
    if fd is not None:
        os.close(fd)


_CTRL_C = threading.Event()


def interrupt_pending() -> bool:
    """Whether Ctrl-C (SIGINT) arrived during the current run (the training loop checks at every step end)."""
    return _CTRL_C.is_set()


@contextlib.contextmanager
def _remember_ctrl_c() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt where Python next checks for signals, and compiled code that checks for
    signals itself can drop that exception: under heavy load a SIGINT let a run finish as if nothing had happened
    (seen in tests/test_train_faults.py). The handler also sets a flag, which the training loop checks at every
    step end (`engine.StopOnCtrlC`), so an interrupt is never lost. Only the main thread can install a handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _CTRL_C.clear()

    def handler(signum: int, frame: Any) -> None:
        _CTRL_C.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _CTRL_C.clear()


@contextlib.contextmanager
def guarded_run(run_dir: Path) -> Iterator[None]:
    """Ctrl-C and a full disk while training or finishing become one-line errors that say truthfully what was kept
    and how to go on; incomplete checkpoints are removed first (they would only take space). The run's lock is
    released however the block ends."""
    try:
        with _remember_ctrl_c():
            yield
    except KeyboardInterrupt:
        discard_incomplete(run_dir / "checkpoints")
        raise Interrupted(f"interrupted; {describe_kept(run_dir)}",
                          hint=f"rerun the same command with --resume to continue{_staged_note(run_dir)}") from None
    except Exception as exc:
        if not disk_full(exc):
            raise
        discard_incomplete(run_dir / "checkpoints")
        raise OutputError(f"disk full while writing under {run_dir}; {describe_kept(run_dir)}",
                          hint="free space, then rerun the same command with --resume") from exc
    finally:
        _unlock(run_dir)


disk_full_as_error = guarded_run  # the name stages used before Ctrl-C was handled here too


def _staged_note(run_dir: Path) -> str:
    out = final_out(run_dir)
    return f" ({out} stays as it was until then)" if out != run_dir else ""


def publish_final(out: Path, write: Callable[[Path], list[str]]) -> list[str]:
    """Let `write(tmp)` save the final files into OUT/.final.tmp, then move them into OUT; return their names.

    A full disk or a crash while writing leaves OUT's checkpoints intact and no partial final model.
    """
    tmp = out / FINAL_TMP
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        names = write(tmp)
        ordinary_modes(tmp)  # save_pretrained leaves model.safetensors 0600
        for name in sorted(os.listdir(tmp)):
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(tmp / name, target)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if disk_full(exc):
            raise OutputError(f"disk full while writing the final model into {out}",
                              hint="free space, then rerun with --resume: the checkpoints are intact") from exc
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write the final model into {out}: {exc}",
                              hint="check permissions and space, then rerun with --resume") from exc
        raise
    tmp.rmdir()
    return names


def finish_run(out: Path, manifest: dict[str, Any], keep_checkpoints: bool) -> Path:
    """Write manifest.json (the mark of a complete run), drop the checkpoints unless asked to keep them, and move a
    staged run into its OUT; return the final OUT."""
    write_json(out / MANIFEST_NAME, manifest)
    _tidy(out, keep_checkpoints)
    _unlock(out)
    target = final_out(out)
    if target != out:
        publish_dir(out, target, force=True)
    return target


def _tidy(run_dir: Path, keep_checkpoints: bool) -> None:
    for scratch in RESUME_STATE:
        if not keep_checkpoints:
            shutil.rmtree(run_dir / scratch, ignore_errors=True)
        elif (run_dir / scratch).is_dir():
            ordinary_modes(run_dir / scratch)  # kept checkpoints: the Trainer's safetensors were written 0600
    shutil.rmtree(run_dir / FINAL_TMP, ignore_errors=True)
    (run_dir / CONFIG_NAME).unlink(missing_ok=True)
