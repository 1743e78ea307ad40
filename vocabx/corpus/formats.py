"""The table of file formats: format name -> reader, and file extension -> format name.

Every reader has the same signature, `(path, label, config, stats) -> Iterator[Document]`, so adding a format
is one function and one line here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from vocabx.corpus.config import CorpusConfig
from vocabx.corpus.document import CorpusStats, Document
from vocabx.corpus.jsonfiles import read_json
from vocabx.corpus.tabular import read_csv, read_parquet, read_tsv
from vocabx.corpus.textfiles import read_pos_tagged, read_text
from vocabx.errors import CorpusError

Reader = Callable[[Path, str, CorpusConfig, CorpusStats], Iterator[Document]]

READERS: dict[str, Reader] = {
    "text": read_text,
    "pos-tagged": read_pos_tagged,  # word/TAG corpora such as People's Daily 1998; only named by corpus cards
    "json": read_json,  # a JSON array or JSON lines
    "jsonl": read_json,
    "csv": read_csv,
    "tsv": read_tsv,
    "parquet": read_parquet,
}

EXTENSIONS: dict[str, str] = {
    ".txt": "text",
    ".md": "text",
    ".jsonl": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
}

SUPPORTED = " ".join(EXTENSIONS)


def format_of(path: Path) -> str | None:
    """The format a file's extension names, or None (`.TXT` counts as `.txt`)."""
    return EXTENSIONS.get(path.suffix.lower())


def reader_for(fmt: str) -> Reader:
    """The reader for a format name, or a `CorpusError` listing the known ones."""
    try:
        return READERS[fmt]
    except KeyError:
        raise CorpusError(f"unknown corpus format {fmt!r}", hint=f"use one of: {', '.join(READERS)}") from None
