"""JSON formats: JSON lines (one record per line) and a JSON array of records, both streamed.

A `.json` file may hold either; the first non-blank character decides (`[` means an array).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import cast

from vocabx.corpus.config import CorpusConfig
from vocabx.corpus.document import CorpusStats, Document
from vocabx.corpus.encoding import TextFile, iter_chunks, iter_lines, open_text
from vocabx.corpus.fields import RecordTexts, reject
from vocabx.errors import CorpusError

JSON_SPACE = re.compile(r"[ \t\n\r]*")
_MORE = object()  # sentinel: the buffer ends inside a value, read another chunk


def read_json(path: Path, label: str, config: CorpusConfig, stats: CorpusStats) -> Iterator[Document]:
    """Documents from a .json/.jsonl file, whichever of the two layouts it uses."""
    text_file = open_text(path, label, config, stats)
    if text_file is None:
        return
    records = RecordTexts(config, stats)
    if text_file.sample.lstrip().startswith("["):
        for index, record in enumerate(_array_items(iter_chunks(text_file, config, stats), label)):
            document = records.document(record, f"{label}[{index}]")
            if document is not None:
                yield document
    else:
        yield from _json_lines(text_file, records, config, stats)


def _json_lines(
    text_file: TextFile, records: RecordTexts, config: CorpusConfig, stats: CorpusStats
) -> Iterator[Document]:
    for number, line in enumerate(iter_lines(text_file, config, stats), 1):
        if not line.strip():
            continue
        where = f"{text_file.label}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            message = f"{where}: line {number} is not valid JSON ({exc.msg} at column {exc.colno})"
            reject("malformed_json", where, message, config, stats)
            continue
        document = records.document(record, where)
        if document is not None:
            yield document


def _array_items(chunks: Iterator[str], label: str) -> Iterator[object]:
    """The elements of a JSON array, parsed from text chunks without holding the whole file.

    A value that ends exactly at the end of the buffer is parsed again once more text has arrived: `12` may be
    the start of `1234`. A single element larger than a chunk is re-parsed per chunk, which is slow but rare.
    """
    decoder = json.JSONDecoder()
    buf, pos, eof, expect, count = "", 0, False, "[", 0
    while True:
        pos = cast(re.Match[str], JSON_SPACE.match(buf, pos)).end()  # `*` matches the empty string: never None
        value: object = _MORE
        if pos < len(buf):
            char = buf[pos]
            if expect == "[":
                if char != "[":
                    raise _malformed(label, f"expected '[' at the start, found {char!r}")
                pos, expect = pos + 1, "first"
                continue
            if char == "]" and expect in ("first", ","):
                return
            if expect == ",":
                if char != ",":
                    raise _malformed(label, f"expected ',' or ']' after record {count - 1}, found {char!r}")
                pos, expect = pos + 1, "value"
                continue
            try:
                value, end = decoder.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                if eof:
                    raise _malformed(label, f"{exc.msg} in record {count}") from None
            else:
                if end == len(buf) and not eof:
                    value = _MORE
        if value is _MORE:
            if eof:
                raise _malformed(label, "the file ends before the array's closing ']'")
            chunk = next(chunks, None)
            eof = chunk is None
            buf, pos = buf[pos:] + (chunk or ""), 0
            continue
        yield value
        pos, expect, count = end, ",", count + 1


def _malformed(label: str, detail: str) -> CorpusError:
    # A broken array cannot be resynchronised record by record, so --skip-bad-records does not apply here.
    return CorpusError(
        f"{label} is not a valid JSON array of records: {detail}",
        hint="fix the file, or convert it to JSON lines (one record per line), where bad lines can be skipped",
    )
