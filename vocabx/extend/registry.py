"""Which extender grows which tokenizer family: a table of family -> "module:Class", imported on first use, so that
one family's dependencies never load for another's.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any, Literal

from vocabx.errors import UsageError
from vocabx.extend.base import Extender
from vocabx.lazy import import_target

# Real extension per family: new entries the model's own algorithm produces (pieces, merges, entries).
EXTENDERS: dict[str, str] = {
    "bytelevel-bpe": "vocabx.extend.bytelevel:ByteLevelBPEExtender",
    "sentencepiece-bpe": "vocabx.extend.sentencepiece:SentencePieceExtender",
    "wordpiece": "vocabx.extend.wordpiece:WordPieceExtender",
}
# Modes that replace the family's extender: the add_tokens fallback (any family; see its module for the pitfalls)
# and the Chinese-LLaMA piece merge (SentencePiece BPE), both kept as named baselines, only on request.
MODE_EXTENDERS: dict[str, str] = {
    "added-tokens": "vocabx.extend.added_tokens:AddedTokensExtender",
    "merge": "vocabx.extend.sp_merge:SentencePieceMergeExtender",
}
Mode = Literal["terms", "train", "added-tokens", "merge"]
MODES: tuple[str, ...] = typing.get_args(Mode)


def get_extender(family: str, mode: str = "terms", progress: bool = False) -> Extender:
    """The extender for a family and mode; `UsageError` naming the supported families when there is none."""
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}", hint=f"use one of: {', '.join(MODES)}")
    loaded = _load(MODE_EXTENDERS[mode]) if mode in MODE_EXTENDERS else _load(EXTENDERS.get(family, ""))
    if mode in MODE_EXTENDERS and loaded is not None and family not in loaded.families:
        raise UsageError(f"--mode {mode} does not apply to {family} tokenizers", hint=f"{mode} mode supports: {', '.join(loaded.families)}")
    if loaded is None or family not in getattr(loaded, "families", ()):
        raise UsageError(
            f"vocabx cannot extend {family} tokenizers" + (f" in {mode} mode" if mode != "terms" else " as real vocabulary"),
            hint=f"supported: {', '.join(supported_families())}; or pass --mode added-tokens (the add_tokens fallback)",
        )
    accepted = inspect.signature(loaded).parameters
    if mode == "train" and "mode" not in accepted:  # an extender learns from the corpus only if it says so
        raise UsageError(
            f"--mode train is not available for {family} tokenizers",
            hint=f"train mode supports: {', '.join(trainable_families())}; use --mode terms for {family}",
        )
    options: dict[str, Any] = {"progress": progress, "mode": mode if mode in ("terms", "train") else None}
    return loaded(**{k: v for k, v in options.items() if k in accepted and v is not None})


def trainable_families() -> list[str]:
    """Families whose extender can learn entries from the corpus alone (`--mode train`)."""
    return [f for f, t in EXTENDERS.items() if (c := _load(t)) is not None and "mode" in inspect.signature(c).parameters]


def supported_families() -> list[str]:
    """Families with an installed real extender (a colleague's module may not exist yet)."""
    return [family for family, target in EXTENDERS.items() if _load(target) is not None]


def _load(target: str) -> type[Extender] | None:
    return import_target(target)
