"""What the corpus reader yields (`Document`) and what it counts while reading (`CorpusStats`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# Each skip reason is logged as a warning this many times, then at debug level, so a file with a million bad
# lines does not flood the log; the counts in `CorpusStats.skipped` stay exact.
WARN_PER_REASON = 5


@dataclass(frozen=True)
class Document:
    """One document: its text and where it came from (`data/a.jsonl:17`, `hf:org/name[123]`, `card:legal-zh/...`)."""

    text: str
    source: str


@dataclass
class CorpusStats:
    """Counts filled while a corpus is iterated; reset at the start of each pass."""

    documents: int = 0
    chars: int = 0
    bytes: int = 0
    """UTF-8 bytes of the yielded text, whatever the files' encodings."""
    files: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    """Records, files or characters left out, by reason (`malformed_json`, `empty_text`, ...)."""
    stopped_at: str | None = None
    """`max_docs` or `max_chars` when a limit ended the pass early."""

    def add(self, text: str) -> None:
        self.documents += 1
        self.chars += len(text)
        self.bytes += len(text.encode("utf-8"))

    def skip(self, reason: str, where: str, detail: str = "") -> None:
        """Count one skipped item and log it (warnings for the first few per reason, then debug)."""
        count = self.skipped.get(reason, 0) + 1
        self.skipped[reason] = count
        message = f"{where}: skipped ({reason}){': ' + detail if detail else ''}"
        if count <= WARN_PER_REASON:
            log.warning(message)
            if count == WARN_PER_REASON:
                log.warning("further '%s' skips are logged at debug level; stats.skipped keeps the count", reason)
        else:
            log.debug(message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "chars": self.chars,
            "bytes": self.bytes,
            "files": self.files,
            "skipped": dict(sorted(self.skipped.items())),
            "stopped_at": self.stopped_at,
        }
