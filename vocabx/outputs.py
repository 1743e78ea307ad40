"""Output directories: written into a temporary sibling and renamed into place, each with a `manifest.json`.

A crash, a full disk or a bad input midway leaves no half-written output: either OUT appears complete, or
nothing does. Inputs are never written to, and `--force` replaces nothing but a previous vocabx output.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import functools
import hashlib
import json
import logging
import os
import platform
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from vocabx.errors import OutputError

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "vocabx-manifest v1"
# Marks of a vocabx output still being written in place: a training run's resolved config, and the mark that
# other in-place writers (the demo) leave until their manifest is written. --force may replace either.
RUN_CONFIG_NAME = "train_config.json"
IN_PROGRESS_NAME = "in_progress.json"
# Names a finished output may hold besides those its manifest lists: kept checkpoints, logs, failure notes.
_ALWAYS_OWNED = {MANIFEST_NAME, RUN_CONFIG_NAME, IN_PROGRESS_NAME, "checkpoints", "log.jsonl", "failed.json",
                 ".final.tmp"}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode every file vocabx writes ends up with, whichever writer made it: an ordinary file's under the
    current umask (0644 under the usual 022), never the 0600 of a temp-file writer (mkstemp, safetensors)."""
    return 0o666 & ~_umask()


def check_output_dir(out: str | Path, *, force: bool = False, inputs: Sequence[str | Path] = ()) -> Path:
    """Validate OUT before any work starts: refuse an OUT that holds an input or the working directory, sits
    inside an input, or exists (unless `force`, and then only when it is a previous vocabx output)."""
    out = Path(out).expanduser().resolve()
    refuse_clobbering(out, inputs)
    blocking = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise OutputError(f"cannot create output {out}: {blocking} is a file, not a directory",
                          hint="choose an --out whose parent directories are directories")
    if out.exists() and not force:
        raise OutputError(f"output {out} already exists", hint="choose a new --out, or pass --force to replace it")
    if out.exists():
        check_replaceable(out)
    return out


def refuse_clobbering(out: Path, inputs: Sequence[str | Path] = ()) -> None:
    """OUT may not be, hold or sit inside an input, nor be or hold the working directory, whatever --force says."""
    cwd = Path.cwd().resolve()
    if out == cwd or out in cwd.parents:
        raise OutputError(f"output {out} is {'the' if out == cwd else 'above the'} working directory {cwd}",
                          hint="choose an --out beside your files, e.g. runs/NAME; vocabx never replaces the directory you work in")
    for inp in inputs:
        for path in _input_paths(inp):
            if out == path or out in path.parents:
                raise OutputError(f"output {out} holds the input {path}",
                                  hint="choose an --out that holds no input; --force never deletes an input")
            if path.is_dir() and path in out.parents:
                raise OutputError(f"output {out} is inside the input {path}",
                                  hint="choose an --out outside every input; vocabx never writes into its inputs")


def _input_paths(spec: str | Path) -> list[Path]:
    """The local paths an input spec names: itself, the PATH of `LABEL=PATH`, the file of `PATH#FIELD`."""
    text = str(spec)
    candidates = [text, text.split("=", 1)[-1]]
    candidates += [c.rsplit("#", 1)[0] for c in candidates if "#" in c]
    paths = []
    for c in dict.fromkeys(candidates):
        with contextlib.suppress(OSError, ValueError):
            path = Path(c).expanduser()
            if c and path.exists():
                paths.append(path.resolve())
    return paths


def check_replaceable(out: Path) -> None:
    """--force replaces only what vocabx wrote: an empty directory, a finished output whose manifest lists its
    files, or a run still in progress (its train_config.json or in_progress.json). Anything else is refused."""
    if not out.is_dir() or out.is_symlink():
        raise OutputError(f"output {out} exists and is not a directory",
                          hint="choose another --out; --force replaces only a previous vocabx output directory")
    entries = set(os.listdir(out))
    if not entries:
        return
    owned = _owned_names(out)
    if owned is None:
        raise OutputError(f"output {out} is not a vocabx output (no vocabx manifest.json): --force will not delete it",
                          hint="choose a new --out, or move that directory away yourself")
    foreign = sorted(entries - owned)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise OutputError(f"output {out} holds files vocabx did not write ({shown}): --force will not delete them",
                          hint="move them out of it, or choose a new --out")


def _owned_names(out: Path) -> set[str] | None:
    """Top-level names of OUT that vocabx wrote, from its manifest; every name for a run in progress; None when
    OUT carries no vocabx mark at all."""
    manifest = _read_json(out / MANIFEST_NAME)
    if isinstance(manifest, dict) and manifest.get("format") == MANIFEST_FORMAT:
        listed = manifest.get("outputs")
        if not isinstance(listed, list):
            return set(os.listdir(out))
        return _ALWAYS_OWNED | {str(name).split("/", 1)[0] for name in listed}
    for mark in (RUN_CONFIG_NAME, IN_PROGRESS_NAME):
        if isinstance(_read_json(out / mark), dict):
            return set(os.listdir(out))
    return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_vocabx_output(path: str | Path) -> bool:
    """Whether `path` is a directory that vocabx wrote (finished, or in progress)."""
    path = Path(path)
    return path.is_dir() and _owned_names(path) is not None


@contextlib.contextmanager
def atomic_output_dir(out: str | Path, *, force: bool = False, inputs: Sequence[str | Path] = ()) -> Iterator[Path]:
    """Yield a temporary directory beside OUT; on success move it to OUT (`publish_dir`), on any error delete it.

    Usage: `with atomic_output_dir("runs/a") as tmp:` then write into `tmp`; runs/a appears only when the block ends
    without an error.
    """
    out = check_output_dir(out, force=force, inputs=inputs)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        # mkdtemp makes a private (0700) directory; the output is an ordinary one, as the user's umask says.
        os.chmod(tmp, 0o777 & ~_umask())
        ordinary_modes(tmp)
        publish_dir(tmp, out, force=force, inputs=inputs)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def ordinary_modes(directory: Path) -> None:
    """Give each file under `directory` that a temp-file writer left private (0600: safetensors' `save_file`, and so
    transformers' `save_pretrained`, write a temp file and rename it:
    https://github.com/safetensors/safetensors/issues/782) the mode of an ordinary file, as the umask
    says. Other modes are left alone, and so are hard links (`extend_model(link_unchanged=True)`): their other
    name is an input, which vocabx never changes."""
    mode = file_mode()
    for path in directory.rglob("*"):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600 and info.st_nlink == 1:
            os.chmod(path, mode)


def publish_dir(done: Path, out: Path, *, force: bool = False, inputs: Sequence[str | Path] = ()) -> None:
    """Move the finished directory `done` to OUT, checking OUT again now: an OUT that appeared meanwhile (another
    run, another program) is refused without `force`; with it, a previous vocabx output is swapped out, atomically
    where the OS can, so OUT is never missing. Of two runs racing for one new OUT, exactly one wins."""
    refuse_clobbering(out, inputs)
    try:
        os.rename(done, out)  # refuses a non-empty directory or a file at OUT: nothing there is lost
        return
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise
    if not force:
        raise OutputError(f"output {out} appeared while this run was working (another run or program wrote it); "
                          "nothing was replaced", hint="choose a new --out, or pass --force to replace it")
    check_replaceable(out)
    if _exchange(done, out):  # `done` now holds the previous output
        shutil.rmtree(done, ignore_errors=True)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    try:
        os.replace(out, aside / "previous")  # moved aside, not deleted, until the new one is in place
        os.rename(done, out)
    except OSError:
        if not out.exists() and (aside / "previous").exists():
            os.replace(aside / "previous", out)  # put the previous output back
        raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where the OS or file system cannot."""
    renameat2 = getattr(_libc(), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


@functools.lru_cache(maxsize=1)
def _libc() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


# How a full disk reads where no OSError carries ENOSPC: safetensors' Rust error, torch's stream writer.
_DISK_FULL_TEXT = ("no space left on device", "storagefull", "os error 28", "disk quota exceeded",
                   "file write failed", "unexpected pos")


def disk_full(exc: BaseException) -> bool:
    """Whether `exc` (or an exception it was raised from) is a full disk or quota, whichever library raised it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(marker in str(current).lower() for marker in _DISK_FULL_TEXT):
            return True
        current = current.__cause__ or current.__context__
    return False


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a single file atomically (temp file in the same directory, then rename)."""
    write_atomic(path, lambda fh: fh.write(text.encode("utf-8")))


def write_atomic(path: str | Path, write: Callable[[BinaryIO], object]) -> None:
    """Write a single file atomically: `write(fh)` fills a temp file in the same directory (binary), which is then
    renamed into place, so readers, concurrent runs included, never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, file_mode())  # mkstemp makes 0600 files; outputs are ordinary files
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON (UTF-8, indented, keys in insertion order) atomically."""
    write_text_atomic(path, json.dumps(to_jsonable(data), ensure_ascii=False, indent=2) + "\n")


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, paths, tuples and sets to plain JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj) if isinstance(obj, (set, frozenset)) else obj
        return [to_jsonable(v) for v in items]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and obj != obj:  # NaN is not JSON
        return None
    return obj


def file_sha256(path: str | Path, limit: int | None = None) -> str:
    """SHA-256 of a file (of its first `limit` bytes when given, for very large inputs)."""
    h = hashlib.sha256()
    remaining = limit
    with open(path, "rb") as fh:
        while True:
            size = 1 << 20 if remaining is None else min(1 << 20, remaining)
            if size == 0:
                break
            chunk = fh.read(size)
            if not chunk:
                break
            h.update(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    return h.hexdigest()


def describe_input(spec: str | Path) -> dict[str, Any]:
    """An input as the manifest records it: the path or id, and a hash and size for local files."""
    path = Path(str(spec)).expanduser()
    entry: dict[str, Any] = {"spec": str(spec)}
    if path.is_file():
        entry.update(path=str(path.resolve()), bytes=path.stat().st_size, sha256=file_sha256(path))
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        h = hashlib.sha256()
        for p in files:
            h.update(str(p.relative_to(path)).encode())
            h.update(file_sha256(p).encode())
        entry.update(path=str(path.resolve()), files=len(files), sha256=h.hexdigest())
    return entry


def versions() -> dict[str, str]:
    """Versions of Python, vocabx and the libraries whose behaviour shapes the outputs (read once per process:
    package metadata takes tens of milliseconds to read)."""
    return dict(_versions())


@functools.lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("vocabx", "tokenizers", "sentencepiece", "transformers", "torch", "jieba", "safetensors"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out


@functools.lru_cache(maxsize=1)
def host_platform() -> str:
    """`platform.platform()`, once per process: its first call runs `uname -p` in a subprocess, whose fork costs
    tens of milliseconds in a process holding hundreds of megabytes (so long jobs call this early)."""
    return platform.platform()


def build_manifest(
    command: str,
    config: Any,
    inputs: Sequence[str | Path] = (),
    counts: dict[str, Any] | None = None,
    outputs: Sequence[str] = (),
    extra: dict[str, Any] | None = None,
    deterministic: bool = False,
) -> dict[str, Any]:
    """The manifest every output directory carries: what ran, with which config, on which inputs, with what result.

    With `deterministic`, no timestamp or host is recorded, so the same inputs give a byte-identical file.
    """
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "command": command,
        "config": to_jsonable(config),
        "inputs": [describe_input(i) for i in inputs],
        "counts": to_jsonable(counts or {}),
        "outputs": sorted(outputs),
        "versions": versions(),
    }
    if not deterministic:
        manifest["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        manifest["host"] = {"platform": host_platform(), "argv": sys.argv}
    if extra:
        manifest.update(to_jsonable(extra))
    return manifest
