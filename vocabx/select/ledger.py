"""`Ledger`: every decision of a selection, counted by stage and reason (documents and characters), per pool input,
with a few example documents per reason, for report.json and report.md."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

EXAMPLE_CHARS = 160  # characters of an example document shown in the report


@dataclass
class Ledger:
    """Counts of documents (and characters) by outcome: a quality reason, `general`, `exact_duplicate`,
    `near_duplicate`, `selected`; per pool input too."""

    examples_per_reason: int = 3
    docs: Counter = field(default_factory=Counter)
    chars: Counter = field(default_factory=Counter)
    by_pool: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    examples: dict[str, list[dict[str, str]]] = field(default_factory=lambda: defaultdict(list))
    read_docs: int = 0
    read_chars: int = 0
    read_bytes: int = 0

    def record(self, outcome: str, chars: int, text: str | None, source: str, pool: str, note: str = "") -> None:
        """One document's outcome; `text` (None where the worker did not send it back) feeds the examples."""
        self.read_docs += 1
        self.read_chars += chars
        self.docs[outcome] += 1
        self.chars[outcome] += chars
        self.by_pool[pool][outcome] += 1
        if outcome != "candidate" and len(self.examples[outcome]) < self.examples_per_reason:
            example = {"source": source, "text": (text or "")[:EXAMPLE_CHARS]}
            if note:
                example["note"] = note
            self.examples[outcome].append(example)

    def count_rules(self, reasons: list[str | None], chars: np.ndarray, texts: dict[int, str], sources: list[str],
                    pool: str) -> list[bool]:
        """Record the documents of a chunk that broke a quality rule (`reasons`, None where none was broken),
        all at once; return which ones were recorded."""
        broken = [(i, r) for i, r in enumerate(reasons) if r is not None]
        index: dict[str, int] = {}
        codes = [index.setdefault(r, len(index)) for _, r in broken]
        docs = np.bincount(codes, minlength=len(index))
        weights = np.bincount(codes, weights=chars[[i for i, _ in broken]], minlength=len(index))
        for name, k in index.items():
            n, total = int(docs[k]), int(weights[k])
            self.read_docs, self.read_chars = self.read_docs + n, self.read_chars + total
            self.docs[name] += n
            self.chars[name] += total
            self.by_pool[pool][name] += n
        for i, reason in broken:
            if len(self.examples[reason]) < self.examples_per_reason:
                self.examples[reason].append({"source": sources[i], "text": texts.get(i, "")[:EXAMPLE_CHARS]})
        return [r is not None for r in reasons]

    def as_dict(self) -> dict[str, Any]:
        return {"read": {"docs": self.read_docs, "chars": self.read_chars, "bytes": self.read_bytes},
                "docs": dict(self.docs), "chars": dict(self.chars),
                "by_pool": {k: dict(v) for k, v in self.by_pool.items()}, "examples": dict(self.examples)}
