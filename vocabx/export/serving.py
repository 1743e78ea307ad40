"""Serving safety: new entries are ordinary vocabulary, never added or special tokens, so serving stacks
(`skip_special_tokens`, vLLM/SGLang incremental detokenization, chat templates) treat them like any other token.

Checked on the files: the added-token and special-token lists are the base's, and decoding each new token with
`skip_special_tokens=True` through transformers keeps its text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vocabx.adapters.base import TokenizerAdapter
from vocabx.extend.verify import MAX_EXAMPLES, Check

log = logging.getLogger(__name__)

# sentencepiece_model.proto types a serving stack treats apart from plain text: unknown, control, user-defined.
_SP_SPECIAL_TYPES = (2, 3, 4)


def added_tokens(adapter: TokenizerAdapter) -> dict[int, tuple[str, bool]]:
    """id -> (content, special) of every added/control token: what serving stacks may skip or split on."""
    proto = getattr(adapter, "proto", None)
    if proto is not None:
        return {i: (p.piece, p.type != 4) for i, p in enumerate(proto.pieces) if p.type in _SP_SPECIAL_TYPES}
    tokenizer = getattr(adapter, "tokenizer", None)
    if tokenizer is None or not hasattr(tokenizer, "get_added_tokens_decoder"):
        return {}
    return {i: (t.content, bool(t.special)) for i, t in tokenizer.get_added_tokens_decoder().items()}


def serving_checks(base: TokenizerAdapter, extended: TokenizerAdapter, extended_dir: Path | None,
                   new_ids: Sequence[int]) -> list[Check]:
    return [check_ordinary(base, extended, extended_dir), check_skip_special(extended_dir, extended, new_ids)]


def check_ordinary(base: TokenizerAdapter, extended: TokenizerAdapter, extended_dir: Path | None) -> Check:
    """Added/special tokens unchanged (same ids, contents, flags), and the special-token map the base's."""
    old, new = added_tokens(base), added_tokens(extended)
    gained = sorted(set(new) - set(old))
    changed = sorted(i for i in old if new.get(i) != old[i])
    specials_changed = _special_map_changes(base, extended_dir)
    passed = not gained and not changed and not specials_changed
    summary = (f"{len(old)} added/special tokens unchanged; new entries are ordinary vocabulary" if passed else
               f"{len(gained)} new added/special tokens, {len(changed)} changed, special map changes: {specials_changed}")
    examples = [f"{i}: {new[i][0]!r}" for i in gained[:MAX_EXAMPLES]]
    return Check("serving_ordinary", passed, summary,
                 {"added_tokens": len(old), "gained": len(gained), "changed": len(changed), "examples": examples})


def _special_map_changes(base: TokenizerAdapter, extended_dir: Path | None) -> list[str]:
    """Keys of tokenizer_config.json's special tokens whose value differs from the base's (HF bases only)."""
    if extended_dir is None or not (Path(extended_dir) / "tokenizer_config.json").is_file():
        return []
    import json

    from vocabx.extend.hf_files import SPECIAL_KEYS, base_tokenizer_config

    if base.family.startswith("sentencepiece"):
        return []  # SentencePiece specials are the proto's ids, compared above with the piece types
    ours: dict[str, Any] = json.loads((Path(extended_dir) / "tokenizer_config.json").read_text(encoding="utf-8"))
    theirs = base_tokenizer_config(base.source)
    keys = (*SPECIAL_KEYS, "additional_special_tokens")
    return [k for k in keys if _content(ours.get(k)) != _content(theirs.get(k))]


def _content(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("content")
    if isinstance(value, list):
        return [_content(v) for v in value]
    return value


def check_skip_special(extended_dir: Path | None, extended: TokenizerAdapter, new_ids: Sequence[int]) -> Check:
    """transformers' decode(skip_special_tokens=True) of each new token keeps its whole text."""
    if extended_dir is None or not new_ids:
        return Check("serving_skip_special", None, "no tokenizer directory or no new tokens to decode")
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(str(extended_dir))
    lost = [i for i in new_ids if not auto.decode([i], skip_special_tokens=True)
            or auto.decode([i], skip_special_tokens=True) != auto.decode([i], skip_special_tokens=False)]
    examples = [f"{i}: {extended.id_to_token(i)!r}" for i in lost[:MAX_EXAMPLES]]
    return Check("serving_skip_special", not lost, f"{len(new_ids) - len(lost)}/{len(new_ids)} new tokens survive "
                 "decode(skip_special_tokens=True)", {"new": len(new_ids), "lost": len(lost), "examples": examples})
