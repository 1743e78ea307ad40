"""Output directories: written into a temporary sibling and renamed into place, each with a `manifest.json`.

A crash, a full disk or a bad input midway leaves no half-written output: either OUT appears complete, or
nothing does. Inputs are never written to.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import os
import platform
import shutil
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output_dir(out: str | Path, *, force: bool = False, inputs: Sequence[str | Path] = ()) -> Path:
    """Validate OUT before any work starts: refuse an existing OUT unless `force`, and any OUT inside an input."""
    out = Path(out).expanduser().resolve()
    for inp in inputs:
        inp_path = Path(inp).expanduser()
        if not inp_path.exists():
            continue
        inp_path = inp_path.resolve()
        if out == inp_path or (inp_path.is_dir() and inp_path in out.parents):
            raise OutputError(
                f"output {out} is inside the input {inp_path}",
                hint="choose an --out outside every input; vocabx never writes into its inputs",
            )
    if out.exists() and not force:
        raise OutputError(f"output {out} already exists", hint="choose a new --out, or pass --force to replace it")
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out} exists and is not a directory", hint="choose another --out")
    return out


@contextlib.contextmanager
def atomic_output_dir(out: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary directory beside OUT; on success rename it to OUT, on any error delete it.

    >>> with atomic_output_dir("runs/a") as tmp:   # doctest: +SKIP
    ...     (tmp / "terms.tsv").write_text("term\\n")
    """
    out = Path(out).expanduser().resolve()
    if out.exists() and not force:
        raise OutputError(f"output {out} already exists", hint="choose a new --out, or pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        # mkdtemp makes a private (0700) directory; the output is an ordinary one, as the user's umask says.
        os.chmod(tmp, 0o777 & ~_umask())
        if out.exists():
            # Replace: move the old one aside first so that a failure here still leaves one complete copy.
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs are ordinary files
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
