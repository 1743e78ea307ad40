"""Local corpus sources: a file, a directory (recursive) or a glob, resolved to a fixed list of readable files.

`Source` is the protocol every kind of input implements (local files here, Hugging Face datasets in `hub`,
named corpora in `cards`), so the corpus reader never asks which kind it holds.
"""

from __future__ import annotations

import dataclasses
import glob
import logging
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from vocabx.corpus.config import CorpusConfig
from vocabx.corpus.document import CorpusStats, Document
from vocabx.corpus.formats import SUPPORTED, format_of, reader_for
from vocabx.errors import CorpusError
from vocabx.outputs import describe_input

log = logging.getLogger(__name__)

GLOB_MAGIC = frozenset("*?[")


class Source(Protocol):
    """One resolved input spec: yields its documents and describes itself for the manifest."""

    spec: str

    def documents(self, config: CorpusConfig, stats: CorpusStats) -> Iterator[Document]: ...

    def describe(self) -> dict[str, Any]: ...


@dataclass
class FileSource:
    """Files with known formats; `label_prefix` and `text_field` let a corpus card name and configure them."""

    spec: str
    files: list[tuple[Path, str]]
    is_glob: bool = False
    label_prefix: str | None = None
    text_field: str | None = None

    def documents(self, config: CorpusConfig, stats: CorpusStats) -> Iterator[Document]:
        if self.text_field is not None:
            config = dataclasses.replace(config, text_field=self.text_field)
        for path, fmt in self.files:
            label = f"{self.label_prefix}{path.name}" if self.label_prefix else str(path)
            stats.files += 1
            try:
                yield from reader_for(fmt)(path, label, config, stats)
            except OSError as exc:  # vanished or unreadable since the spec was resolved
                raise CorpusError(
                    f"cannot read {path}: {exc.strerror or exc}", hint="check the file exists and is readable"
                ) from None

    def describe(self) -> dict[str, Any]:
        if self.is_glob:
            return {"spec": self.spec, "files": [describe_input(path) for path, _ in self.files]}
        return describe_input(self.spec)


def local_source(spec: str) -> FileSource | None:
    """The files behind a local path or glob; None if `spec` is neither (it may be a card or a dataset id)."""
    path = Path(spec).expanduser()
    if path.is_file():
        fmt = format_of(path)
        if fmt is None:
            raise CorpusError(
                f"{spec}: unknown file type {path.suffix or '(no extension)'!r}",
                hint=f"vocabx reads {SUPPORTED}; rename a plain-text file to .txt",
            )
        return FileSource(spec, [(path, fmt)])
    if path.is_dir():
        files = _readable_files([path], spec)
        return FileSource(spec, files)
    if GLOB_MAGIC & set(spec):
        matches = sorted(glob.glob(os.path.expanduser(spec), recursive=True))
        if not matches:
            raise CorpusError(
                f"no files match {spec!r}", hint="check the pattern; quote it so the shell does not expand it"
            )
        return FileSource(spec, _readable_files([Path(match) for match in matches], spec), is_glob=True)
    return None


def _readable_files(paths: list[Path], spec: str) -> list[tuple[Path, str]]:
    """Files with a known format under `paths` (directories recursively, hidden entries left out), sorted."""
    found: list[tuple[Path, str]] = []
    unknown: Counter[str] = Counter()
    for path in paths:
        for file in _walk(path) if path.is_dir() else [path]:
            fmt = format_of(file)
            if fmt is None:
                unknown[file.suffix.lower() or "(none)"] += 1
            else:
                found.append((file, fmt))
    if unknown:
        log.info("%s: left out %d file(s) of unknown type: %s", spec, sum(unknown.values()), dict(unknown))
    if not found:
        what = f"directory {spec}" if Path(spec).expanduser().is_dir() else f"{spec!r}"
        raise CorpusError(
            f"{what} has no readable files ({SUPPORTED})",
            hint="point at files with one of those extensions; hidden files and directories are left out",
        )
    return found


def _walk(root: Path) -> Iterator[Path]:
    """Files under `root` in sorted order, without hidden files or directories (`.git`, `.cache`, ...)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder) / name
