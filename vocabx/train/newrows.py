"""Which embedding rows are new (added by `vocabx extend`), and the embeddings stage that trains only them:
every other parameter frozen, the gradients of the old rows zeroed by a hook, so old rows stay bit-identical."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

import torch

from vocabx.errors import ModelError, UsageError

if TYPE_CHECKING:
    from transformers import PreTrainedModel

log = logging.getLogger(__name__)


def recorded_base_vocab_size(model_dir: str | Path) -> int | None:
    """`counts.base_vocab_size` from the manifest `vocabx extend` wrote into MODEL, if any."""
    manifest = Path(model_dir) / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        counts = json.loads(manifest.read_text(encoding="utf-8")).get("counts", {})
    except (json.JSONDecodeError, AttributeError):
        log.warning("%s does not parse; ignoring it for the new-row range", manifest)
        return None
    value = counts.get("base_vocab_size") if isinstance(counts, dict) else None
    return int(value) if value is not None else None


def check_vocab_fits(model: PreTrainedModel, tokenizer_size: int, model_dir: str | Path) -> int:
    """Refuse a model whose embedding has fewer rows than its tokenizer has ids; return the row count."""
    # torch types a module's attributes as Tensor | Module; an embedding's weight is a Tensor.
    rows = int(cast(torch.Tensor, model.get_input_embeddings().weight).shape[0])
    if rows < tokenizer_size:
        raise ModelError(
            f"{model_dir}: the embedding has {rows} rows but the tokenizer has {tokenizer_size} ids",
            hint="the tokenizer was extended without the model; run `vocabx extend MODEL ...` to grow the embeddings",
        )
    return rows


def new_row_start(model_dir: str | Path, rows: int, new_from: int | None) -> int | None:
    """The first new row: --new-from, else the manifest's base_vocab_size; None when there are no new rows."""
    start = new_from if new_from is not None else recorded_base_vocab_size(model_dir)
    if start is None:
        return None
    if not 0 < start <= rows:
        raise UsageError(
            f"new rows start at {start}, outside the embedding's {rows} rows",
            hint="pass --new-from with the base vocabulary size (the first id vocabx extend added)",
        )
    return start if start < rows else None


def _mask_rows(start: int):
    def hook(grad: torch.Tensor) -> torch.Tensor:
        # Zero, not skip: AdamW then sees exact zeros for old rows, so their moments and updates stay 0.
        grad = grad.clone()
        grad[:start] = 0
        return grad

    return hook


@dataclass
class NewRowsOnly:
    """The embeddings stage's parameter state: only input and output embeddings train, rows < start frozen.

    Tied embeddings (one Parameter behind both embed_tokens and lm_head) get one hook, untied two.
    """

    start: int
    handles: list = field(default_factory=list)
    saved_requires_grad: dict[str, bool] = field(default_factory=dict)

    def apply(self, model: PreTrainedModel) -> list[torch.nn.Parameter]:
        self.saved_requires_grad = {n: p.requires_grad for n, p in model.named_parameters()}
        for p in model.parameters():
            p.requires_grad_(False)
        trained: list[torch.nn.Parameter] = []
        for module in (model.get_input_embeddings(), model.get_output_embeddings()):
            weight = getattr(module, "weight", None)
            if weight is None or any(weight is t for t in trained):
                continue
            weight.requires_grad_(True)
            self.handles.append(weight.register_hook(_mask_rows(self.start)))
            trained.append(weight)
        log.info("embeddings stage: training rows >= %d of %d matrices", self.start, len(trained))
        return trained

    def remove(self, model: PreTrainedModel) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()
        for name, p in model.named_parameters():
            p.requires_grad_(self.saved_requires_grad.get(name, True))
