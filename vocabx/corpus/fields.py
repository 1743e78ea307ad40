"""Which field of a record holds the text: explicit names, or a default for common layouts (Alpaca, ShareGPT).

Used by every record format (JSON, CSV, parquet, Hugging Face datasets): the fields are chosen once from the
first record's keys or the header, then applied to every record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vocabx.corpus.config import CorpusConfig
from vocabx.corpus.document import CorpusStats, Document
from vocabx.errors import CorpusError

SINGLE_DEFAULTS = ("text", "content")
ALPACA = ("instruction", "input", "output")
CHAT_KEYS = ("conversations", "messages")
TURN_TEXT_KEYS = ("value", "content", "text")  # ShareGPT turns use `value`, OpenAI-style messages `content`
DEFAULTS_TRIED = "text, content, instruction+input+output (Alpaca), conversations/messages (ShareGPT)"


@dataclass(frozen=True)
class TextFields:
    """The fields whose values are joined with newlines into a document; `optional` ones may be absent."""

    names: tuple[str, ...]
    optional: frozenset[str] = frozenset()

    def missing(self, record: Mapping[str, Any]) -> list[str]:
        """Required fields that `record` lacks."""
        return [name for name in self.names if name not in record and name not in self.optional]

    def extract(self, record: Mapping[str, Any]) -> str:
        """The record's text: the named values as text, empty ones left out, joined with newlines.

        >>> TextFields(("instruction", "input", "output")).extract({"instruction": "Add", "input": "", "output": "2"})
        'Add\\n2'
        """
        parts = (as_text(record.get(name)) for name in self.names)
        return "\n".join(part for part in parts if part)


def resolve_fields(
    keys: Sequence[str], text_field: str | None, where: str, record: Mapping[str, Any] | None = None,
    flag: str | None = None,
) -> TextFields:
    """Choose the text fields for records with `keys`, from `--text-field` or the defaults.

    `record`, when given, is a sample whose longest text value the error hint suggests.

    >>> resolve_fields(["id", "content"], None, "a.jsonl").names
    ('content',)
    """
    available = [str(key) for key in keys]
    if text_field is not None:
        names = tuple(name.strip() for name in text_field.split(",") if name.strip())
        missing = [name for name in names if name not in available]
        if missing:
            raise missing_field_error(where, missing, available, record, flag)
        return TextFields(names)
    for name in SINGLE_DEFAULTS:
        if name in available:
            return TextFields((name,))
    if "instruction" in available and "output" in available:
        return TextFields(ALPACA, optional=frozenset({"input"}))
    for name in CHAT_KEYS:
        if name in available:
            return TextFields((name,))
    raise CorpusError(
        f"{where}: found no text field (tried {DEFAULTS_TRIED}); the records have: {_listing(available)}",
        hint=_field_hint(available, record, flag, "one of them (commas join several)"),
    )


def missing_field_error(
    where: str, missing: Sequence[str], available: Sequence[str], record: Mapping[str, Any] | None = None,
    flag: str | None = None,
) -> CorpusError:
    names = ", ".join(repr(name) for name in missing)
    return CorpusError(f"{where}: no field {names}; the record has: {_listing(available)}",
                       hint=_field_hint(available, record, flag, "one of the fields present"))


def _field_hint(available: Sequence[str], record: Mapping[str, Any] | None, flag: str | None, which: str) -> str:
    """Name the text field as `flag` (a form such as `--text-field {}`) says; without one, say what is expected."""
    example = _example(available, record)
    if flag is None:
        return f"this input needs records with a {' or '.join(SINGLE_DEFAULTS)} field, or Alpaca/ShareGPT records"
    return f"name {which} as the text field, e.g. {flag.replace('{}', example)}"


def as_text(value: Any) -> str:
    """A field value as text: strings as they are, chat turns joined by newlines, numbers as digits, None empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in TURN_TEXT_KEYS:
            if key in value:
                return as_text(value[key])
        return ""
    if isinstance(value, (list, tuple)):
        return "\n".join(text for text in map(as_text, value) if text)
    return str(value)


class RecordTexts:
    """Turns records into documents: fields resolved on the first record (or a header), checked on each."""

    def __init__(self, config: CorpusConfig, stats: CorpusStats, fields: TextFields | None = None) -> None:
        self.config = config
        self.stats = stats
        self.fields = fields

    def document(self, record: Any, where: str) -> Document | None:
        """The record's document, or None when it is skipped under `skip_bad_records`."""
        if isinstance(record, str):  # a JSON lines file of bare strings
            return Document(record, where)
        if not isinstance(record, Mapping):
            message = f"{where}: expected a JSON object (a record), got {type(record).__name__}"
            reject("not_a_record", where, message, self.config, self.stats)
            return None
        if self.fields is None:
            self.fields = resolve_fields(list(record), self.config.text_field, where, record,
                                         dict(self.config.flags).get("text_field"))
        missing = self.fields.missing(record)
        if missing:
            if self.config.skip_bad_records:
                self.stats.skip("missing_field", where, f"no field {', '.join(missing)}")
                return None
            raise missing_field_error(where, missing, list(record), record, dict(self.config.flags).get("text_field"))
        return Document(self.fields.extract(record), where)


def reject(reason: str, where: str, message: str, config: CorpusConfig, stats: CorpusStats) -> None:
    """A bad record: counted and skipped under `skip_bad_records`, else a `CorpusError` that names the option."""
    if config.skip_bad_records:
        stats.skip(reason, where, message)
        return
    skip = config.option("skip_bad_records")
    raise CorpusError(message, hint="fix or remove that record" + (
        f", or pass {skip} to skip (and count) such records" if skip else ""))


def _listing(available: Sequence[str]) -> str:
    return ", ".join(repr(name) for name in available) if available else "(no fields)"


def _example(available: Sequence[str], record: Mapping[str, Any] | None) -> str:
    """A field to suggest: the one with the longest text in the sample record, else the first named one."""
    if record:
        texts = {name: value for name, value in record.items() if isinstance(value, str) and name}
        if texts:
            return max(texts, key=lambda name: len(texts[name]))
    return next((name for name in available if name), "text")
