"""Moving shard texts and shard results between this process and the scan workers through files (in shared memory
where the machine has it) instead of the pool's pipes.

A pipe carries a message in 64 KB pieces, each a wake-up of the thread that feeds or drains it, and those threads
need the GIL that this process's main thread holds while it counts tokens: a large shard result came through
slowly, and the texts of a segmentation task stalled the next task. Through a file the same bytes take one write and
one read, and a task carries only a path and some lengths.

Results go out with pickle's out-of-band buffers (protocol 5): the pickle stream holds the small objects, the arrays'
bytes follow it in the file unchanged, and they come back as arrays over one writable buffer, with no copy. Where a
file cannot be written (no room), the object travels through the pipe as before.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import struct
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ALIGN = 64  # each out-of-band buffer starts on a multiple of this in the file (aligned arrays)
_HEADER = struct.Struct("<QQ")  # pickle stream length, number of buffers


def spill_dir() -> str:
    """A new private directory for one scan's files: in /dev/shm when it exists with 1 GB free, else in the
    temporary directory (still page cache: nothing is synced to disk)."""
    base = None
    shm = Path("/dev/shm")
    try:
        if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 1 << 30:
            base = str(shm)
    except OSError:
        base = None
    return tempfile.mkdtemp(prefix="vocabx-scan-", dir=base)


@dataclass(frozen=True)
class Texts:
    """Documents for a worker: inline, or as `lengths` of consecutive documents stored in `path` as UTF-32-LE from
    character `offset` on (every document followed by one newline in the file)."""

    path: str | None
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    offset: int = 0
    inline: tuple[str, ...] = ()

    @staticmethod
    def store(texts: list[str], directory: str | None) -> Texts:
        """Write `texts` to a new file in `directory` (inline where that is None or fails)."""
        if directory is not None:
            path = os.path.join(directory, f"text-{uuid.uuid4().hex}")
            try:
                with open(path, "wb") as fh:
                    fh.write(("\n".join(texts) + "\n").encode("utf-32-le", "surrogatepass"))
                return Texts(path, np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
            except OSError:
                _remove(path)
        return Texts(None, inline=tuple(texts))

    def part(self, start: int, stop: int) -> Texts:
        """Documents start..stop-1 of these."""
        if self.path is None:
            return Texts(None, inline=self.inline[start:stop])
        offset = self.offset + int(self.lengths[:start].sum()) + start
        return Texts(self.path, self.lengths[start:stop], offset)

    def __len__(self) -> int:
        return len(self.lengths) if self.path is not None else len(self.inline)

    def doc_lengths(self) -> list[int]:
        return self.lengths.tolist() if self.path is not None else [len(t) for t in self.inline]

    def joined(self) -> tuple[str, np.ndarray]:
        """The documents joined, each followed by a newline, as a string and as its code points (uint32)."""
        if self.path is None:
            text = "\n".join(self.inline) + "\n" if self.inline else ""
            return text, np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        data = self._read()
        return data.decode("utf-32-le", "surrogatepass"), np.frombuffer(data, dtype=np.uint32)

    def _read(self) -> bytes:
        """These documents' bytes in the file (UTF-32-LE, each followed by a newline)."""
        assert self.path is not None  # callers read only documents in a file
        with open(self.path, "rb") as fh:
            fh.seek(4 * self.offset)
            return fh.read(4 * (int(self.lengths.sum()) + len(self.lengths)))

    def codepoints(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The documents' code points as `joined` has them, with each document's start and length there."""
        lengths = self.lengths if self.path is not None else np.array([len(t) for t in self.inline], np.int64)
        cps = self.joined()[1] if self.path is None else np.frombuffer(self._read(), dtype=np.uint32)
        return cps, np.cumsum(lengths + 1) - (lengths + 1), lengths

    def texts(self) -> list[str]:
        """The documents as strings."""
        if self.path is None:
            return list(self.inline)
        text, _ = self.joined()
        out, at = [], 0
        for n in self.lengths.tolist():
            out.append(text[at : at + n])
            at += n + 1
        return out

    def release(self) -> None:
        """Remove the file (this process's job, once no task needs it)."""
        if self.path is not None:
            _remove(self.path)


@dataclass(frozen=True)
class Spilled:
    """A result written to `path` by `send`; `load` reads it back (once: the file is removed)."""

    path: str


def send(obj: Any, directory: str | None) -> Any:
    """In a worker: `obj` written to a file in `directory` and a `Spilled` naming it, or `obj` itself where that
    is None or the file cannot be written."""
    if directory is None:
        return obj
    buffers: list[pickle.PickleBuffer] = []
    stream = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    path = os.path.join(directory, f"result-{uuid.uuid4().hex}")
    views = [b.raw() for b in buffers]
    try:
        with open(path, "wb") as fh:
            fh.write(_HEADER.pack(len(stream), len(views)))
            fh.write(struct.pack(f"<{len(views)}Q", *(v.nbytes for v in views)))
            fh.write(stream)
            at = _HEADER.size + 8 * len(views) + len(stream)
            for view in views:
                pad = -at % ALIGN
                fh.write(b"\0" * pad)
                fh.write(view)
                at += pad + view.nbytes
    except OSError:
        _remove(path)
        return obj
    return Spilled(path)


def load(item: Any) -> Any:
    """In this process: what `send` gave, as the object it was sent as (the file is removed)."""
    if not isinstance(item, Spilled):
        return item
    try:
        size = os.path.getsize(item.path)
        data = bytearray(size)  # writable: arrays rebuilt over it may be updated in place, as the originals could
        with open(item.path, "rb") as fh:
            fh.readinto(data)
    finally:
        _remove(item.path)
    view = memoryview(data)
    stream_len, count = _HEADER.unpack_from(view)
    sizes = struct.unpack_from(f"<{count}Q", view, _HEADER.size)
    at = _HEADER.size + 8 * count
    stream = view[at : at + stream_len]
    at += stream_len
    buffers = []
    for nbytes in sizes:
        at += -at % ALIGN
        buffers.append(view[at : at + nbytes])
        at += nbytes
    return pickle.loads(stream, buffers=buffers)


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
