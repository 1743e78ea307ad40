"""Tabular formats: CSV/TSV (header row, streamed line by line) and parquet (streamed by record batches)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from vocabx.corpus.config import CorpusConfig
from vocabx.corpus.document import CorpusStats, Document
from vocabx.corpus.encoding import iter_lines, open_text
from vocabx.corpus.fields import RecordTexts, resolve_fields
from vocabx.errors import CorpusError, require

# Python's csv refuses fields over 128 KiB by default; whole articles in one cell are normal in corpora.
CSV_FIELD_LIMIT = 1 << 30
PARQUET_BATCH_ROWS = 1024  # rows decoded at a time: bounded memory whatever the row-group size


def read_csv(path: Path, label: str, config: CorpusConfig, stats: CorpusStats) -> Iterator[Document]:
    return _read_delimited(path, label, config, stats, delimiter=",")


def read_tsv(path: Path, label: str, config: CorpusConfig, stats: CorpusStats) -> Iterator[Document]:
    return _read_delimited(path, label, config, stats, delimiter="\t")


def _read_delimited(
    path: Path, label: str, config: CorpusConfig, stats: CorpusStats, delimiter: str
) -> Iterator[Document]:
    """Rows as records keyed by the header; `source` is the line where the row starts."""
    text_file = open_text(path, label, config, stats)
    if text_file is None:
        return
    csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.reader(iter_lines(text_file, config, stats), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            return
        records = RecordTexts(config, stats)  # fields chosen on the first row, so the hint can show its values
        start = reader.line_num + 1
        for row in reader:
            where, start = f"{label}:{start}", reader.line_num + 1
            if not any(cell.strip() for cell in row):  # blank lines and all-empty rows (`,,,,`) are not records
                continue
            document = records.document(dict(zip(header, row)), where)
            if document is not None:
                yield document
    except csv.Error as exc:
        raise CorpusError(
            f"{label}: malformed CSV near line {reader.line_num}: {exc}",
            hint="check the quoting on that line; the first row must be a header naming the columns",
        ) from None


def read_parquet(path: Path, label: str, config: CorpusConfig, stats: CorpusStats) -> Iterator[Document]:
    """Rows of a parquet file, reading only the text columns, `PARQUET_BATCH_ROWS` rows at a time."""
    pyarrow = require("pyarrow", "reading .parquet corpora")
    parquet = require("pyarrow.parquet", "reading .parquet corpora", package="pyarrow")
    try:
        table = parquet.ParquetFile(path)
        fields = resolve_fields(table.schema_arrow.names, config.text_field, label, flag=dict(config.flags).get("text_field"))
        columns = [name for name in fields.names if name in table.schema_arrow.names]
        records = RecordTexts(config, stats, fields=fields)
        row = 0
        for batch in table.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns):
            for record in batch.to_pylist():
                document = records.document(record, f"{label}[{row}]")
                row += 1
                if document is not None:
                    yield document
    except (pyarrow.ArrowException, OSError) as exc:
        message = f"cannot read {label} as parquet: {exc}"
        if not config.skip_bad_records:
            skip = config.option("skip_bad_records")
            raise CorpusError(message, hint="check the file is complete" + (
                f", or pass {skip} to skip it" if skip else "")) from None
        stats.skip("unreadable_file", label, message)
