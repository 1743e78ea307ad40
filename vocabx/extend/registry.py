"""Which extender grows which tokenizer family: a table of family -> entry, each naming its class ("module:Class",
imported on first use, so that one family's dependencies never load for another's) and declaring the options its
constructor takes and the modes it runs in. Nothing is read off a signature: an option an entry does not declare
is refused with its list, never dropped.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, Literal

from vocabx.errors import UsageError
from vocabx.extend.base import Extender
from vocabx.lazy import import_target


@dataclass(frozen=True)
class ExtenderEntry:
    """One extender: where its class lives and what its constructor takes, declared here."""

    target: str  # "module:Class", imported on first use
    options: tuple[str, ...] = ()  # the keyword options its constructor takes; `build` refuses any other
    modes: tuple[str, ...] = ()  # the values of its `mode` option ("train": it learns entries from the corpus alone)

    def load(self) -> type[Extender] | None:
        """The class, or None when its module is not installed (a colleague's module may not exist yet)."""
        return import_target(self.target)

    def build(self, **options: Any) -> Extender:
        """An instance with `options`; `UsageError` naming the options it takes when one is not among them."""
        cls = self.load()
        name = self.target.rpartition(":")[2]
        if cls is None:
            raise UsageError(f"extender {name} is not installed", hint=f"{self.target} could not be imported")
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise UsageError(f"{name} does not take the option(s) {', '.join(unknown)}",
                             hint=f"it takes: {', '.join(self.options) or 'no options'}")
        return cls(**options)


# Real extension per family: new entries the model's own algorithm produces (pieces, merges, entries).
EXTENDERS: dict[str, ExtenderEntry] = {
    "bytelevel-bpe": ExtenderEntry("vocabx.extend.bytelevel:ByteLevelBPEExtender", ("mode", "progress"),
                                   modes=("terms", "train")),
    "sentencepiece-bpe": ExtenderEntry(
        "vocabx.extend.sentencepiece:SentencePieceExtender",
        ("mode", "progress", "scope", "cross_punctuation", "max_piece_chars", "min_frequency"),
        modes=("terms", "train"),
    ),
    "wordpiece": ExtenderEntry("vocabx.extend.wordpiece:WordPieceExtender", ("progress",)),
}
# Modes that replace the family's extender: the add_tokens fallback (any family; see its module for the pitfalls)
# and the Chinese-LLaMA piece merge (SentencePiece BPE), both kept as named baselines, only on request.
MODE_EXTENDERS: dict[str, ExtenderEntry] = {
    "added-tokens": ExtenderEntry("vocabx.extend.added_tokens:AddedTokensExtender"),
    "merge": ExtenderEntry("vocabx.extend.sp_merge:SentencePieceMergeExtender", ("donor",)),
}
Mode = Literal["terms", "train", "added-tokens", "merge"]
MODES: tuple[str, ...] = typing.get_args(Mode)


def get_extender(family: str, mode: str = "terms", progress: bool = False, **options: Any) -> Extender:
    """The extender for a family and mode, built with `options` (those its entry declares, e.g. `donor` for merge);
    `UsageError` naming the supported families, modes or options when there is none or an option does not apply.
    `progress` is a display preference: extenders that report none are built without it."""
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}", hint=f"use one of: {', '.join(MODES)}")
    entry = _entry(family, mode)
    if mode == "train" and "train" not in entry.modes:  # an extender learns from the corpus only if it says so
        raise UsageError(
            f"--mode train is not available for {family} tokenizers",
            hint=f"train mode supports: {', '.join(trainable_families())}; use --mode terms for {family}",
        )
    if entry.modes:
        options["mode"] = mode
    if "progress" in entry.options:
        options["progress"] = progress
    return entry.build(**options)


def _entry(family: str, mode: str) -> ExtenderEntry:
    """The table entry for a family and mode, checked to be installed and to apply to the family."""
    entry = MODE_EXTENDERS.get(mode) or EXTENDERS.get(family)
    loaded = entry.load() if entry is not None else None
    if mode in MODE_EXTENDERS and loaded is not None and family not in loaded.families:
        raise UsageError(f"--mode {mode} does not apply to {family} tokenizers",
                         hint=f"{mode} mode supports: {', '.join(loaded.families)}")
    if entry is None or loaded is None or family not in getattr(loaded, "families", ()):
        raise UsageError(
            f"vocabx cannot extend {family} tokenizers" + (f" in {mode} mode" if mode != "terms" else " as real vocabulary"),
            hint=f"supported: {', '.join(supported_families())}; or pass --mode added-tokens (the add_tokens fallback)",
        )
    return entry


def trainable_families() -> list[str]:
    """Families whose extender can learn entries from the corpus alone (`--mode train`), as their entries declare."""
    return [family for family, entry in EXTENDERS.items() if "train" in entry.modes and entry.load() is not None]


def supported_families() -> list[str]:
    """Families with an installed real extender (a colleague's module may not exist yet)."""
    return [family for family, entry in EXTENDERS.items() if entry.load() is not None]
