"""`Corpus`: the resolved inputs of a command, read as one re-iterable stream of documents with limits and counts."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

from vocabx.corpus.config import CorpusConfig
from vocabx.corpus.document import CorpusStats, Document
from vocabx.corpus.sources import Source
from vocabx.corpus.specs import resolve_input
from vocabx.errors import CorpusError, UsageError

log = logging.getLogger(__name__)

Specs = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


class Corpus:
    """Documents from every spec in order; each iteration re-reads the inputs and refills `stats`.

    Built by `open_corpus(["notes.md", "data/*.jsonl", "legal-zh"])`: a file, a glob and a named corpus, read in
    that order.
    """

    def __init__(self, specs: list[str], config: CorpusConfig, sources: list[Source]) -> None:
        self.specs = specs
        self.config = config
        self.stats = CorpusStats()
        self._sources = sources

    def __repr__(self) -> str:
        return f"Corpus({self.specs!r})"

    def __iter__(self) -> Iterator[Document]:
        self.stats = stats = CorpusStats()
        if self._limit_reached(stats):
            return
        for source in self._sources:
            for document in source.documents(self.config, stats):
                if not document.text.strip():
                    stats.skip("empty_text", document.source)
                    continue
                document = self._fit_budget(document, stats)
                stats.add(document.text)
                yield document
                if self._limit_reached(stats):
                    log.info(
                        "stopped after %d documents, %d characters (%s)", stats.documents, stats.chars, stats.stopped_at
                    )
                    return
        if stats.documents == 0:
            raise self._empty_error(stats)

    def texts(self) -> Iterator[str]:
        """The document texts alone."""
        return (document.text for document in self)

    def batches(self, size_chars: int = 1 << 20) -> Iterator[list[str]]:
        """Lists of document texts of about `size_chars` characters each (the last may be smaller), for workers."""
        if size_chars <= 0:
            raise UsageError(f"batch size must be positive, got {size_chars}", hint="use e.g. 1048576 characters")
        batch: list[str] = []
        size = 0
        for text in self.texts():
            batch.append(text)
            size += len(text)
            if size >= size_chars:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def describe(self) -> list[dict[str, Any]]:
        """One manifest entry per spec: path, size and hash for files; dataset id and split; card name."""
        return [source.describe() for source in self._sources]

    def _fit_budget(self, document: Document, stats: CorpusStats) -> Document:
        """Cut the document that crosses `max_chars` so that the pass yields exactly that many characters."""
        limit = self.config.max_chars
        if limit is not None and stats.chars + len(document.text) > limit:
            return Document(document.text[: limit - stats.chars], document.source)
        return document

    def _limit_reached(self, stats: CorpusStats) -> bool:
        if self.config.max_docs is not None and stats.documents >= self.config.max_docs:
            stats.stopped_at = "max_docs"
        elif self.config.max_chars is not None and stats.chars >= self.config.max_chars:
            stats.stopped_at = "max_chars"
        return stats.stopped_at is not None

    def _empty_error(self, stats: CorpusStats) -> CorpusError:
        what = ", ".join(self.specs)
        field = self.config.option("text_field", "NAME")
        check = f"the text field ({field})" if field else "the text field"
        if stats.skipped:
            skipped = ", ".join(f"{reason}: {count}" for reason, count in sorted(stats.skipped.items()))
            hint = f"everything read was skipped ({skipped}); check {check}, the encoding and the log (-v)"
        else:
            hint = f"the inputs hold no non-blank text; check the paths and {check}"
        return CorpusError(f"corpus {what} yielded no text", hint=hint)


def open_corpus(specs: Specs, config: CorpusConfig | None = None) -> Corpus:
    """Resolve every spec now (missing paths, empty directories, unknown cards and datasets raise here).

    A spec is a file, a directory (read recursively), a glob, `hf:org/name[:config][@split]` or a corpus card
    (`card:NAME` or a bare `NAME`); `SPEC#FIELD` reads that spec's text from FIELD (`tnews.json#sentence`), so
    corpora with different fields mix in one command (see `split_field` for paths that hold a `#`).
    """
    names = [os.fspath(specs)] if isinstance(specs, (str, os.PathLike)) else [os.fspath(spec) for spec in specs]
    if not names:
        raise CorpusError("no corpus given", hint="pass a file, directory, glob, hf:org/name or a corpus card name")
    return Corpus(names, config or CorpusConfig(), [resolve_input(name) for name in names])


def iter_texts(specs: Specs, config: CorpusConfig | None = None) -> Iterator[str]:
    """Shorthand for `open_corpus(specs, config).texts()`."""
    return open_corpus(specs, config).texts()
