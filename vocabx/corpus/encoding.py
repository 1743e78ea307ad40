"""Text decoding: detect a file's encoding from a sample, then stream it as decoded chunks and lines.

Detection order: byte-order mark, UTF-16 without BOM (by where the NUL bytes sit), strict UTF-8, strict
GB18030. Anything else is binary (or an encoding we cannot guess) and becomes a `CorpusError`.
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vocabx.corpus.config import CorpusConfig
from vocabx.corpus.document import CorpusStats
from vocabx.errors import CorpusError

log = logging.getLogger(__name__)

SAMPLE_BYTES = 1 << 16  # enough to see BOMs, NUL patterns and a few hundred lines; small enough for 10k-file dirs
CHUNK_BYTES = 1 << 20  # read size while streaming: memory per open file stays about 1 MiB plus the longest line

# UTF-32 LE's BOM starts with UTF-16 LE's, so it must be tested first.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
GUESSES = ("utf-8", "gb18030")  # strict UTF-8 first: valid UTF-8 is almost never GB18030 by accident
ALLOWED_CONTROLS = frozenset("\t\n\r\f\v\x1b")

@dataclass(frozen=True)
class TextFile:
    """A text file whose encoding is known: `sample` is its decoded start, for format sniffing."""

    path: Path
    label: str
    encoding: str
    sample: str


def detect_encoding(sample: bytes) -> str:
    """The encoding of a file that starts with `sample`.

    >>> detect_encoding("中文".encode("gb18030"))
    'gb18030'

    Raises `ValueError` saying why the bytes do not look like text.
    """
    for bom, encoding in BOMS:
        if sample.startswith(bom):
            return encoding
    if b"\x00" in sample:
        utf16 = _utf16_from_nuls(sample)
        if utf16 and _decode_sample(sample, utf16) is not None:
            return utf16
        raise ValueError("it contains NUL bytes: binary data, or UTF-16/32 text without a byte-order mark")
    for encoding in GUESSES:
        if _decode_sample(sample, encoding) is not None:
            return encoding
    raise ValueError("it is not valid UTF-8, UTF-16 or GB18030, or it is binary")


def _utf16_from_nuls(sample: bytes) -> str | None:
    """UTF-16 without BOM: ASCII characters put their NUL byte on one side (odd offsets for LE, even for BE).

    The other side gets a few NULs too, from characters such as U+4E00 (一), hence a ratio and not zero;
    binary data has NULs on both sides alike.
    """
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= 4 * even + 1:
        return "utf-16-le"
    if even >= 4 * odd + 1:
        return "utf-16-be"
    return None


def _decode_sample(sample: bytes, encoding: str) -> str | None:
    """The decoded sample, or None if it does not decode strictly or has many control characters (binary).

    Not final: a character cut by the end of the sample (or a truncated file) does not count against it.
    """
    try:
        text = codecs.getincrementaldecoder(encoding)("strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return None
    controls = sum(1 for ch in text if ch < " " and ch not in ALLOWED_CONTROLS)
    return None if controls > len(text) / 100 + 1 else text


def open_text(path: Path, label: str, config: CorpusConfig, stats: CorpusStats) -> TextFile | None:
    """Detect the encoding of `path` (or take `config.encoding`); None if it is skipped as undecodable."""
    with path.open("rb") as fh:
        raw = fh.read(SAMPLE_BYTES)
    try:
        encoding = config.encoding or detect_encoding(raw)
    except ValueError as exc:
        _undecodable(label, f"cannot read {label} as text: {exc}", config, stats)
        return None
    try:
        sample = codecs.getincrementaldecoder(encoding)("strict").decode(raw, final=False)
    except UnicodeDecodeError as exc:
        _undecodable(label, f"{label} is not valid {encoding}: {exc.reason} at byte {exc.start}", config, stats)
        return None
    log.debug("%s: encoding %s", label, encoding)
    return TextFile(path=path, label=label, encoding=encoding, sample=sample.removeprefix("\ufeff"))


def _undecodable(label: str, message: str, config: CorpusConfig, stats: CorpusStats) -> None:
    """Skip an undecodable file (with `skip_bad_records`) or raise."""
    if config.skip_bad_records:
        stats.skip("undecodable_file", label, message)
        return
    encoding, skip = config.option("encoding", "NAME"), config.option("skip_bad_records")
    hint = (f"pass {encoding} if it is text in another encoding" if encoding else "convert it to UTF-8")
    hint += ", or remove the file from the corpus" + (f", or pass {skip} to skip such files" if skip else "")
    raise CorpusError(message, hint=hint)


def iter_chunks(text_file: TextFile, config: CorpusConfig, stats: CorpusStats) -> Iterator[str]:
    """Decoded text of the file, about `CHUNK_BYTES` at a time, strictly decoded.

    An incomplete character at the very end (a file cut with `head -c`) is dropped and counted as
    `truncated_final_char`; undecodable bytes elsewhere raise, or end the file under `skip_bad_records`.
    """
    decoder = codecs.getincrementaldecoder(text_file.encoding)("strict")
    offset, first = 0, True
    with text_file.path.open("rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                message = (
                    f"{text_file.label}: bytes near offset {offset + exc.start} are not valid {text_file.encoding}"
                )
                _undecodable(text_file.label, message, config, stats)
                return
            offset += len(chunk)
            if first:
                text, first = text.removeprefix("\ufeff"), False
            if text:
                yield text
    try:
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        detail = f"{exc.end - exc.start} byte(s) at the end are an incomplete {text_file.encoding} character"
        stats.skip("truncated_final_char", text_file.label, detail + " (the file was probably cut)")
        return
    if tail:
        yield tail


def iter_lines(text_file: TextFile, config: CorpusConfig, stats: CorpusStats) -> Iterator[str]:
    """The file's lines, each ending in "\\n" except perhaps the last; "\\r\\n" becomes "\\n".

    Only "\\n" ends a line (not U+2028 and friends, which JSON strings may contain raw).
    """
    parts: list[str] = []
    for chunk in iter_chunks(text_file, config, stats):
        pieces = chunk.split("\n")
        if len(pieces) == 1:
            parts.append(chunk)
            continue
        parts.append(pieces[0])
        yield _end_line("".join(parts))
        for piece in pieces[1:-1]:
            yield _end_line(piece)
        parts = [pieces[-1]]
    last = "".join(parts)
    if last:
        yield last.removesuffix("\r")


def _end_line(line: str) -> str:
    return line.removesuffix("\r") + "\n"
