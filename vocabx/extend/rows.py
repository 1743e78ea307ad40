"""The embedding check of `extend` and `verify`: a model directory has a row for every id of its tokenizer, and
the rows of the new ids are the ones `vocabx extend` wrote for those tokens (digests in its manifest), so a
tokenizer edited afterwards (two new ids swapped, entries added) or rows moved are caught, not only a tokenizer
that outgrew the model.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from vocabx.adapters.base import TokenizerAdapter
from vocabx.errors import ModelError
from vocabx.extend.entries import read_entries
from vocabx.extend.verify import MAX_EXAMPLES, Check, vocab_of

NAME = "embeddings"


def new_rows_record(model_dir: Path, extended: TokenizerAdapter, first: int) -> dict[str, Any]:
    """What `extend` records about the new rows it wrote: their ids, the tokens they are for, and digests of the
    rows (input side, and output side when untied)."""
    from vocabx.model.checkpoint import read_checkpoint

    vocab = vocab_of(extended)
    count = max(vocab) + 1 - first if vocab else 0
    ckpt = read_checkpoint(model_dir)
    record = {"first_id": first, "count": count, "tokens_sha256": _tokens_digest(vocab, first, count),
              "input_sha256": _rows_digest(ckpt, ckpt.input_name, first, count)}
    if ckpt.output_name is not None:
        record["output_sha256"] = _rows_digest(ckpt, ckpt.output_name, first, count)
    return record


def check_embeddings(directory: Path | None, extended: TokenizerAdapter, recorded: dict[str, Any] | None = None) -> Check:
    """Rows >= ids; and, for a vocabx extend output, the new ids' tokens and rows as extend recorded them
    (`recorded`, else the record in the directory's manifest)."""
    from vocabx.model.checkpoint import read_checkpoint

    if directory is None or not (directory / "config.json").is_file():
        return Check(NAME, None, "not a model directory: no embedding rows to check")
    try:
        ckpt = read_checkpoint(directory)
    except ModelError as exc:
        return Check(NAME, False, f"the model's weights cannot be read: {exc.message}")
    vocab = vocab_of(extended)
    ids = max(vocab) + 1 if vocab else 0
    figures: dict[str, Any] = {"rows": ckpt.rows, "tokenizer_ids": ids}
    if ckpt.rows < ids:
        return Check(NAME, False, f"the model has {ckpt.rows} embedding rows for {ids} tokenizer ids: "
                                  f"{ids - ckpt.rows} ids have no row", figures)
    recorded = recorded or _recorded(directory)
    if recorded is None:
        return Check(NAME, True, f"{ckpt.rows} rows for {ids} ids (new rows not recorded: not a vocabx extend output)",
                     figures)
    first, count = int(recorded["first_id"]), int(recorded["count"])
    problems = _token_problems(directory, vocab, recorded, first, count)
    for side, name in (("input_sha256", ckpt.input_name), ("output_sha256", ckpt.output_name)):
        if side in recorded and name is not None and _rows_digest(ckpt, name, first, count) != recorded[side]:
            problems.append(f"the {name} rows {first}..{first + count - 1} differ from those extend wrote")
    figures.update(new_rows=count, examples=problems[:MAX_EXAMPLES])
    if problems:
        return Check(NAME, False, f"new rows {first}..{first + count - 1} do not match their tokens: {problems[0]}",
                     figures)
    return Check(NAME, True, f"{ckpt.rows} rows for {ids} ids; the {count} new rows are those extend wrote for "
                             "these tokens", figures)


def _token_problems(directory: Path, vocab: dict[int, str], recorded: dict[str, Any], first: int,
                    count: int) -> list[str]:
    if _tokens_digest(vocab, first, count) == recorded.get("tokens_sha256"):
        return []
    entries = read_entries(directory) or []
    moved = [f"id {e.id} is {vocab.get(e.id)!r}, extend wrote {e.token!r} there" for e in entries
             if vocab.get(e.id) != e.token]
    return moved or [f"the tokenizer's ids {first}..{first + count - 1} are not the entries extend wrote"]


def _recorded(directory: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    record = ((manifest.get("model") or {}) if isinstance(manifest, dict) else {}).get("new_rows")
    return record if isinstance(record, dict) and {"first_id", "count"} <= set(record) else None


def _tokens_digest(vocab: dict[int, str], first: int, count: int) -> str:
    text = "\n".join(vocab.get(i, "") for i in range(first, first + count))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rows_digest(ckpt: Any, name: str, first: int, count: int) -> str:
    import torch

    from vocabx.model.surgery import read_tensor

    rows = read_tensor(ckpt, name)[first : first + count].contiguous()
    return hashlib.sha256(rows.view(-1).view(torch.uint8).numpy().tobytes()).hexdigest()
