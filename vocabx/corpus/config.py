"""`CorpusConfig`: how every vocabx command reads its corpus (text field, split mode, limits, bad records)."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Literal

from vocabx.errors import UsageError

SPLIT_MODES = ("auto", "file", "block", "line")


@dataclass
class CorpusConfig:
    """Options for reading a corpus; the CLI flags mirror the field names (`--text-field`, `--skip-bad-records`)."""

    text_field: str | None = None
    """JSON key or CSV/parquet column holding the text; comma-separated names are joined with newlines
    (`title,ask,answer`). None tries `text`, `content`, Alpaca (`instruction`+`input`+`output`), then ShareGPT
    (`conversations`/`messages`). An input written `SPEC#FIELD` reads FIELD instead (`open_corpus`)."""

    split: Literal["auto", "file", "block", "line"] = "auto"
    """How .txt/.md files become documents: one per file, per blank-line-separated block, or per line.
    `auto` picks blocks when the start of the file has blank lines, else lines."""

    skip_bad_records: bool = False
    """Skip a malformed JSON line, a record without the text field, or an undecodable file (counted in
    `stats.skipped` and logged) instead of stopping with an error."""

    encoding: str | None = None
    """Force one encoding for every text file (`gb18030`, `utf-16`, ...). None detects it per file."""

    max_docs: int | None = None
    """Stop after this many documents (quick runs)."""

    max_chars: int | None = None
    """Stop after this many characters; the document that crosses the limit is cut to fit (budgets)."""

    flags: tuple[tuple[str, str], ...] = ()
    """How the running command lets its user set each field for this corpus, `{}` standing for the value:
    `(("text_field", "--replay SPEC#{}"),)` for train's replay data. Error hints name only these, so they never
    point at a flag the command lacks; with none, they say what to change without naming a flag."""

    def option(self, name: str, value: str = "") -> str | None:
        """The flag that sets field `name`, with `value` filled in (`--text-field title`), or None."""
        form = dict(self.flags).get(name)
        return form.replace("{}", value).strip() if form is not None else None

    def __post_init__(self) -> None:
        if self.split not in SPLIT_MODES:
            raise UsageError(f"unknown split mode {self.split!r}", hint=f"use one of: {', '.join(SPLIT_MODES)}")
        for name in ("max_docs", "max_chars"):
            value = getattr(self, name)
            if value is not None and value < 0:
                flag = self.option(name)
                raise UsageError(f"{name} must be >= 0, got {value}",
                                 hint=f"drop {flag.split()[0]} for no limit" if flag else "use 0 or more")
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise UsageError(
                    f"unknown encoding {self.encoding!r}",
                    hint="use a Python codec name such as gb18030, utf-16, latin-1",
                ) from None
        if self.text_field is not None and not [f for f in self.text_field.split(",") if f.strip()]:
            raise UsageError(f"empty text field {self.text_field!r}",
                             hint=f"name a key or column, e.g. {self.option('text_field', 'text') or 'text'}")
