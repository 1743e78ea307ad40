"""LoRA adapters for a run: low-rank updates on every linear layer, plus the new vocabulary rows.

New rows train through peft's `trainable_token_indices` rather than `modules_to_save`: it trains only the listed
rows (old rows stay bit-identical), stores a delta of n_new x hidden instead of a copy of the whole matrix, and
keeps input and output embeddings tied when the model ties them (SmolLM2); `modules_to_save` would copy
embed_tokens and lm_head separately and silently untie them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

import torch

from vocabx.errors import require
from vocabx.quiet import quiet_loading
from vocabx.train.config import RunConfig

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedModel

log = logging.getLogger(__name__)


def _module_name(model: torch.nn.Module, module: torch.nn.Module | None) -> str | None:
    """The attribute name (last path component) of `module` inside `model`, as peft matches it."""
    for name, candidate in model.named_modules():
        if candidate is module:
            return name.rsplit(".", 1)[-1]
    return None


def token_indices(model: PreTrainedModel, new_start: int | None) -> dict[str, list[int]] | None:
    """peft's `trainable_token_indices` for rows >= new_start: the input embedding, and the head when untied."""
    if new_start is None:
        return None
    # torch types a module's attributes as Tensor | Module; an embedding's weight is a Tensor.
    rows = list(range(new_start, cast(torch.Tensor, model.get_input_embeddings().weight).shape[0]))
    inp, outp = model.get_input_embeddings(), model.get_output_embeddings()
    names = {_module_name(model, inp): rows}
    tied = outp is not None and outp.weight is inp.weight
    if outp is not None and not tied:
        names[_module_name(model, outp)] = rows
    # Tied: peft detects the tie and applies the same delta to the head; naming lm_head too would be an error.
    return {k: v for k, v in names.items() if k is not None}


def wrap_lora(model: PreTrainedModel, cfg: RunConfig, new_start: int | None) -> PeftModel:
    """`model` wrapped in a PeftModel with adapters on all linear layers and the new rows trainable."""
    peft = require("peft", "LoRA training (--method lora)")
    lora = peft.LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules="all-linear",  # every projection of attention and MLP; the output head is excluded
        trainable_token_indices=token_indices(model, new_start),
        task_type="CAUSAL_LM",
    )
    with quiet_loading():
        wrapped = peft.get_peft_model(model, lora)
    trainable = sum(p.numel() for p in wrapped.parameters() if p.requires_grad)
    log.info("LoRA r=%d: %d trainable parameters", cfg.lora_r, trainable)
    return wrapped
