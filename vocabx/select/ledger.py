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
        self._count(outcome, 1, chars, pool)
        self._example(outcome, source, text, note)

    def count_rules(self, reasons: list[str | None], chars: np.ndarray, texts: dict[int, str], sources: list[str],
                    pool: str) -> None:
        """Record the documents of a chunk that broke a quality rule (`reasons`, None where none was broken),
        counted a reason at a time."""
        broken = [(i, r) for i, r in enumerate(reasons) if r is not None]
        index: dict[str, int] = {}
        codes = [index.setdefault(r, len(index)) for _, r in broken]
        docs = np.bincount(codes, minlength=len(index))
        weights = np.bincount(codes, weights=chars[[i for i, _ in broken]], minlength=len(index))
        for name, k in index.items():
            self._count(name, int(docs[k]), int(weights[k]), pool)
        for i, reason in broken:
            self._example(reason, sources[i], texts.get(i))

    def _count(self, outcome: str, docs: int, chars: int, pool: str) -> None:
        self.read_docs += docs
        self.read_chars += chars
        self.docs[outcome] += docs
        self.chars[outcome] += chars
        self.by_pool[pool][outcome] += docs

    def _example(self, outcome: str, source: str, text: str | None, note: str = "") -> None:
        """Keep the first few documents of each outcome but `candidate` as examples for the report."""
        if outcome != "candidate" and len(self.examples[outcome]) < self.examples_per_reason:
            example = {"source": source, "text": (text or "")[:EXAMPLE_CHARS]}
            if note:
                example["note"] = note
            self.examples[outcome].append(example)

    def as_dict(self) -> dict[str, Any]:
        return {"read": {"docs": self.read_docs, "chars": self.read_chars, "bytes": self.read_bytes},
                "docs": dict(self.docs), "chars": dict(self.chars),
                "by_pool": {k: dict(v) for k, v in self.by_pool.items()}, "examples": dict(self.examples)}
