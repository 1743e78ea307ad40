"""What a selection reads: the pool inputs (`[NAME=]SPEC`), the domain sample (read whole: it is small) and the
reference sample (a seeded reservoir over the pool, or over --reference).

The pool is read once, by the workers, one file at a time (`Unit`): each parses its file into a plain spill
file (length-prefixed UTF-8, read back at disk speed by `spill_batches`) and draws a reservoir sample of it, so
parsing JSON/CSV, the slowest part of reading, runs on every core, and the second pass skips it.
"""

from __future__ import annotations

import dataclasses
import random
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vocabx.corpus import CorpusConfig, open_corpus
from vocabx.corpus.reader import Corpus
from vocabx.corpus.sources import FileSource
from vocabx.corpus.specs import resolve_input
from vocabx.errors import CorpusError

BATCH_CHARS = 1 << 20  # characters per worker task, at most
HEADER = struct.Struct("<II")  # UTF-8 bytes of the text, of the source


@dataclass
class PoolInput:
    """One POOL argument: its label (NAME= or the file name), its spec, and its read counts once read."""

    label: str
    spec: str
    stats: dict = field(default_factory=dict)


@dataclass
class Unit:
    """A piece of the pool one worker reads: one file of an input (or a whole non-file input)."""

    pool: int  # index into the pool inputs
    corpus: Corpus
    spill: Path


@dataclass(frozen=True)
class Chunk:
    """A byte range of a unit's spill: one task of the second pass."""

    path: Path
    start: int
    end: int
    pool: int


@dataclass
class UnitRead:
    """What reading a unit gave: its documents' count, a reservoir sample, its chunks, the reader's counts."""

    docs: int
    sample: list[str]
    chunks: list[Chunk]
    stats: dict[str, Any]


def open_pool(specs: Sequence[str], text_field: str | None, skip_bad_records: bool,
              spill_dir: Path) -> tuple[list[PoolInput], list[Unit]]:
    """Resolve every POOL argument now (a missing path fails before any work) and cut it into units."""
    from vocabx.bench.labels import corpus_label, split_label, unique_labels

    parsed = [split_label(s) for s in specs]
    labels = unique_labels([name or corpus_label(spec) for name, spec in parsed])
    config = CorpusConfig(text_field=text_field, skip_bad_records=skip_bad_records, flags=corpus_flags("--text-field {}"))
    inputs: list[PoolInput] = []
    units: list[Unit] = []
    for index, (label, (_, spec)) in enumerate(zip(labels, parsed)):
        inputs.append(PoolInput(label, spec))
        source = resolve_input(spec)
        parts = ([dataclasses.replace(source, files=[f]) for f in source.files] if isinstance(source, FileSource)
                 else [source])
        for part in parts:
            units.append(Unit(index, Corpus([spec], config, [part]), spill_dir / f"unit-{len(units)}.bin"))
    return inputs, units


def read_unit(unit: Unit, sample_size: int, seed: int, chunk_docs: int) -> UnitRead:
    """Parse a unit into its spill file, drawing a reservoir sample and cutting chunks of `chunk_docs` documents
    (or BATCH_CHARS characters) on the way. An empty unit (a file holding no text) gives zero documents instead
    of an error: the pool as a whole is checked by the caller."""
    rng = random.Random(seed)
    sample: list[str] = []
    chunks: list[Chunk] = []
    count = offset = start = in_chunk = chars = 0
    with open(unit.spill, "wb") as fh:
        try:
            for doc in unit.corpus:
                text, source = doc.text.encode("utf-8"), doc.source.encode("utf-8")
                fh.write(HEADER.pack(len(text), len(source)) + text + source)
                offset += HEADER.size + len(text) + len(source)
                _reservoir_add(sample, doc.text, count, sample_size, rng)
                count, in_chunk, chars = count + 1, in_chunk + 1, chars + len(doc.text)
                if in_chunk >= chunk_docs or chars >= BATCH_CHARS:
                    chunks.append(Chunk(unit.spill, start, offset, unit.pool))
                    start, in_chunk, chars = offset, 0, 0
        except CorpusError as exc:
            if "yielded no text" not in exc.message:  # only an empty file is the caller's to judge
                raise
    if in_chunk:
        chunks.append(Chunk(unit.spill, start, offset, unit.pool))
    return UnitRead(count, sample, chunks, unit.corpus.stats.as_dict())


def _reservoir_add(kept: list[str], text: str, seen: int, size: int, rng: random.Random) -> None:
    """Algorithm R: after `seen` items, item `seen` replaces a random kept one with probability size/(seen+1)."""
    if seen < size:
        kept.append(text)
    else:
        j = rng.randint(0, seen)
        if j < size:
            kept[j] = text


def merge_samples(reads: Sequence[UnitRead], size: int, seed: int) -> list[str]:
    """A sample of `size` documents over all units, each unit's reservoir weighted by its document count."""
    rng = random.Random(seed)
    items = [(text, r.docs / len(r.sample)) for r in reads if r.sample for text in r.sample]
    keyed = sorted(items, key=lambda item: rng.random() ** (1.0 / item[1]), reverse=True)  # Efraimidis-Spirakis
    return [text for text, _ in keyed[:size]]


def read_chunk(chunk: Chunk) -> tuple[list[str], list[str]]:
    """(texts, sources) of the documents in a spill chunk."""
    texts: list[str] = []
    sources: list[str] = []
    with open(chunk.path, "rb") as fh:
        fh.seek(chunk.start)
        data = fh.read(chunk.end - chunk.start)
    pos = 0
    while pos < len(data):
        n_text, n_source = HEADER.unpack_from(data, pos)
        pos += HEADER.size
        texts.append(data[pos:pos + n_text].decode("utf-8"))
        sources.append(data[pos + n_text:pos + n_text + n_source].decode("utf-8"))
        pos += n_text + n_source
    return texts, sources


def read_sample(specs: Sequence[str], text_field: str | None, skip_bad_records: bool) -> list[str]:
    """The whole domain sample."""
    config = CorpusConfig(text_field=text_field, skip_bad_records=skip_bad_records,
                          flags=corpus_flags("--domain SPEC#{}"))
    return list(open_corpus(list(specs), config).texts())


def reservoir(texts: Iterator[str], size: int, seed: int) -> list[str]:
    """A uniform random sample of `size` texts from a stream of unknown length (Algorithm R).

    >>> sorted(reservoir(iter("abcdefgh"), 3, seed=1))
    ['f', 'g', 'h']
    """
    rng = random.Random(seed)
    kept: list[str] = []
    for i, text in enumerate(texts):
        _reservoir_add(kept, text, i, size, rng)
    return kept


def corpus_flags(text_flag: str) -> tuple[tuple[str, str], ...]:
    """The `vocabx select` flags that set a corpus option, for error hints; `text_flag` names the text field of
    this input, `{}` standing for it (`--text-field {}` for the pool, `--domain SPEC#{}` for the sample)."""
    return (("text_field", text_flag), ("skip_bad_records", "--skip-bad-records"))
