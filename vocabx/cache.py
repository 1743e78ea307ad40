"""Where vocabx keeps what it derives once and reuses: converted tokenizers and the embedded default model.

`VOCABX_CACHE` overrides the location (default: `$XDG_CACHE_HOME/vocabx`, else `~/.cache/vocabx`).
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """A directory under the vocabx cache, created on first use."""
    root = os.environ.get("VOCABX_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vocabx"
    path = Path(root).expanduser().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_key(path: str | Path) -> str:
    """A cheap identity of a file for naming what is derived from it: its resolved path, size and modification time
    (a changed file gets a new key). Hashing the content instead would read the whole file (a GGUF: hundreds of
    MB) on every load."""
    import hashlib

    path = Path(path).resolve()
    stat = path.stat()
    return hashlib.sha256(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:16]
