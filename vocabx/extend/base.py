"""What every tokenizer-family extender returns and promises: the new entries, the skips by reason, the files.

One `Extender` per family (SentencePiece, byte-level BPE, WordPiece, added-tokens fallback) turns a ranked list
of terms and a budget into an `Extension`. Old ids never move; new ids follow the old vocabulary.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from vocabx.adapters.base import TokenizerAdapter
from vocabx.errors import UsageError

if TYPE_CHECKING:
    from vocabx.analyze.plan import Plan

SkipReason = Literal[
    "already_present", "crosses_pretoken_boundary", "invalid", "duplicate", "unreachable", "over_budget"
]


@dataclass(frozen=True)
class NewEntry:
    """One vocabulary entry the extension adds."""

    token: str  # the vocabulary string, in the family's alphabet (`▁高血压`, `é«ĺè¡Ģåİĭ`, `##压`)
    text: str  # the text it stands for (`高血压`); what embedding initialization decomposes with the base tokenizer
    id: int
    kind: Literal["term", "intermediate"]  # a mined term, or a piece added only so that a term is reachable


@dataclass
class Extension:
    """The result of extending one tokenizer: the extended adapter, what was added and skipped, and its files."""

    base: TokenizerAdapter
    extended: TokenizerAdapter
    added: list[NewEntry]
    skipped: dict[str, list[str]] = field(default_factory=dict)  # SkipReason -> terms, in input order
    family: str = ""
    notes: list[str] = field(default_factory=list)  # lossy or surprising decisions, for the manifest and the CLI

    @property
    def counts(self) -> dict[str, int]:
        out = {
            "base_vocab_size": self.base.vocab_size,
            "extended_vocab_size": self.extended.vocab_size,
            "added": len(self.added),
            "added_terms": sum(e.kind == "term" for e in self.added),
            "added_intermediates": sum(e.kind == "intermediate" for e in self.added),
        }
        out.update({f"skipped_{reason}": len(terms) for reason, terms in sorted(self.skipped.items())})
        return out


class Extender(abc.ABC):
    """Grows one tokenizer family's vocabulary for real (pieces, merges, entries), not as added tokens."""

    families: tuple[str, ...]

    @abc.abstractmethod
    def extend(
        self,
        base: TokenizerAdapter,
        terms: Sequence[str],
        budget: int,
        corpus: Sequence[str] | None = None,
    ) -> Extension:
        """Add up to `budget` entries (intermediates included) for the ranked `terms`.

        `corpus`, when given, is domain text that the extender may use to choose the entries that save most.
        """

    def extend_plan(self, base: TokenizerAdapter, plan: Plan, budget: int) -> Extension:
        """Add the first entries of an analysis plan (`vocabx.analyze.plan`) until `budget` new entries exist,
        exactly as the plan lists them. Families whose extender cannot do that take the ranked terms instead."""
        raise UsageError(f"{self.__class__.__name__} cannot apply an analysis plan",
                         hint="pass --terms a terms list, or use a byte-level BPE or SentencePiece BPE base")

    @abc.abstractmethod
    def save(self, extension: Extension, out_dir: Path) -> list[str]:
        """Write the extended tokenizer's files into `out_dir` (a directory that AutoTokenizer loads).

        Returns the file names written. Output must be deterministic: same inputs, byte-identical files.
        """
