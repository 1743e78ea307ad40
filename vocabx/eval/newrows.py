"""The new rows of an evaluated model: where they were initialized (the `vocabx extend` output found through the
manifests), and the per-token report of `vocabx.eval.usage` built from the model's matrices."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any, cast

import torch

from vocabx.errors import ModelError
from vocabx.eval.loading import EvalModel
from vocabx.eval.usage import NewRowStat, TokenCost, flag_rows, row_stats

log = logging.getLogger(__name__)

MAX_HOPS = 8  # train sft <- train cpt <- extend: a few hops; the bound only guards against manifest cycles


def _manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _parent(manifest: dict[str, Any]) -> str | None:
    """The model a training step started from: `config.model` (cpt, sft) or the base input of a merge."""
    config = manifest.get("config") or {}
    if isinstance(config, dict) and isinstance(config.get("model"), str):
        return config["model"]
    inputs = manifest.get("inputs") or []
    if manifest.get("command") == "train merge" and len(inputs) > 1 and isinstance(inputs[1], dict):
        return inputs[1].get("path") or inputs[1].get("spec")
    return None


def _lineage(model_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """MODEL's manifest, then those of the models it was trained from, back to the extend step (or a lost link)."""
    chain: list[tuple[Path, dict[str, Any]]] = []
    current = model_dir
    for _ in range(MAX_HOPS):
        manifest = _manifest(current)
        if manifest is None:
            break
        chain.append((current, manifest))
        command = str(manifest.get("command", ""))
        parent = _parent(manifest) if command.startswith("train") else None
        if command == "extend" or parent is None or not Path(parent).expanduser().is_dir():
            if command != "extend":
                log.info("%s: cannot follow its manifest back to the extend step (parent %r)", current, parent)
            break
        current = Path(parent).expanduser().resolve()
    return chain


def find_init_reference(model_dir: Path) -> Path | None:
    """The directory `vocabx extend` wrote, reached by following MODEL's training manifests back; None if lost."""
    return next((path for path, m in _lineage(model_dir) if m.get("command") == "extend"), None)


def recorded_new_start(model_dir: Path) -> int | None:
    """The first new id as the lineage records it: `base_vocab_size` (extend) or `new_rows_from` (train)."""
    for _, manifest in _lineage(model_dir):
        counts = manifest.get("counts")
        counts = counts if isinstance(counts, dict) else {}
        for key in ("base_vocab_size", "new_rows_from"):
            if isinstance(counts.get(key), int):
                return counts[key]
    return None


def read_init_rows(ref: Path, new_start: int, n_tokens: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The new input rows (and output rows, when stored apart) as initialized in `ref`."""
    from vocabx.model.checkpoint import read_checkpoint
    from vocabx.model.surgery import read_tensor

    ckpt = read_checkpoint(ref)
    if ckpt.rows < n_tokens:
        raise ModelError(f"the init reference {ref} has {ckpt.rows} rows, fewer than the model's {n_tokens} tokens",
                         hint="pass --init-reference with the `vocabx extend` output this model was trained from")
    rows_in = read_tensor(ckpt, ckpt.input_name)[new_start:n_tokens].float()
    rows_out = None
    if not ckpt.tied and ckpt.output_name is not None:
        rows_out = read_tensor(ckpt, ckpt.output_name)[new_start:n_tokens].float()
    return rows_in, rows_out


def new_row_report(
    em: EvalModel, cost: TokenCost | None, emitted: Counter[int], domain_bpc: float | None, init_ref: Path | None,
) -> list[NewRowStat]:
    """Statistics and flags of every new token of `em` (requires em.new_start)."""
    assert em.new_start is not None  # callers check; not user input
    start, n = em.new_start, len(em.tokenizer)
    in_w = cast(torch.Tensor, em.model.get_input_embeddings().weight).detach()  # torch types it Tensor | Module
    head = em.model.get_output_embeddings()
    out_w = head.weight.detach() if head is not None else None
    if out_w is not None and out_w.data_ptr() == in_w.data_ptr():
        out_w = None  # tied: one matrix, already measured as the input
    init = read_init_rows(init_ref, start, n) if init_ref is not None else None
    stats = row_stats(in_w, out_w, start, n, init=init)
    out: list[NewRowStat] = []
    for i, tid in enumerate(range(start, n)):
        occurrences = cost.count[tid] if cost else 0
        text = em.tokenizer.decode([tid])
        bits = cost.bits[tid] / (occurrences * max(len(text), 1)) if cost and occurrences else None
        out.append(NewRowStat(
            id=tid, token=str(em.tokenizer.convert_ids_to_tokens(tid)), text=text,
            input_norm=float(stats["input_norm"][i]), input_norm_z=float(stats["input_norm_z"][i]),
            output_norm_z=float(stats["output_norm_z"][i]) if "output_norm_z" in stats else None,
            drift=float(stats["drift"][i]) if "drift" in stats else None,
            occurrences=occurrences, bits_per_char=bits, emitted=emitted.get(tid, 0)))
    flag_rows(out, domain_bpc)
    return out
