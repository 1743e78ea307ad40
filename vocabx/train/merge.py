"""Merging a LoRA adapter into its base model: a plain model directory (safetensors + config + tokenizer) that
loads without peft and keeps the extended vocabulary."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch

from vocabx.errors import ModelError, require
from vocabx.outputs import atomic_output_dir, build_manifest, check_output_dir, write_json
from vocabx.quiet import quiet_loading
from vocabx.train.config import MergeConfig

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedModel

log = logging.getLogger(__name__)

BASE_SUBDIR = "base"  # runs before vocabx 0.1 stored the embeddings-stage base beside the adapter; still read


def adapter_base(adapter_dir: Path, base: str | None = None) -> Path:
    """The base model an adapter applies to: --base, else ADAPTER/base (older runs), else the adapter's recorded
    base (the MODEL it was trained on)."""
    if base:
        return Path(base)
    if (adapter_dir / BASE_SUBDIR / "config.json").is_file():
        return adapter_dir / BASE_SUBDIR
    config_path = adapter_dir / "adapter_config.json"
    if not config_path.is_file():
        raise ModelError(f"{adapter_dir} is not a LoRA adapter (no adapter_config.json)",
                         hint="pass the OUT of `vocabx train cpt/sft --method lora`")
    recorded = json.loads(config_path.read_text(encoding="utf-8")).get("base_model_name_or_path")
    if not recorded or not Path(recorded).is_dir():
        raise ModelError(f"the base model of {adapter_dir} ({recorded!r}) is not a local directory",
                         hint="pass --base MODEL_DIR")
    return Path(recorded)


def merged_model(peft_model: PeftModel) -> PreTrainedModel:
    """Fold the adapter (LoRA matrices and trainable-token deltas) into the base weights; returns a plain model."""
    model = peft_model.merge_and_unload()
    # Loading without peft needs a config without adapter traces.
    if hasattr(model.config, "_name_or_path"):
        model.config._name_or_path = ""
    return model


def save_model_dir(model: PreTrainedModel, tokenizer: Any, out: Path) -> list[str]:
    """Write model weights (safetensors), config and tokenizer; refuse a model smaller than its tokenizer."""
    # torch types a module's attributes as Tensor | Module; an embedding's weight is a Tensor.
    rows = cast(torch.Tensor, model.get_input_embeddings().weight).shape[0]
    if rows < len(tokenizer):
        raise ModelError(f"the merged model has {rows} rows for {len(tokenizer)} tokenizer ids",
                         hint="merge the adapter into the extended model it was trained on (vocabx train merge --base)")
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return sorted(p.name for p in out.iterdir())


def merge_adapter(cfg: MergeConfig, progress: bool = False) -> dict[str, Any]:
    """`vocabx train merge`: load base + adapter, merge, write OUT atomically with a manifest; return counts."""
    peft = require("peft", "merging a LoRA adapter")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter_dir = Path(cfg.adapter)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ModelError(f"{adapter_dir} is not a LoRA adapter (no adapter_config.json)",
                         hint="pass the OUT of `vocabx train cpt/sft --method lora` (or its adapter/ folder)")
    base_dir = adapter_base(adapter_dir, cfg.base)
    out = check_output_dir(cfg.out, force=cfg.force, inputs=[adapter_dir, base_dir])
    with quiet_loading():
        base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
        model = merged_model(peft.PeftModel.from_pretrained(base, adapter_dir))
    tok_dir = adapter_dir if (adapter_dir / "tokenizer_config.json").is_file() else base_dir
    tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    embedding = cast(torch.Tensor, model.get_input_embeddings().weight)  # torch types it Tensor | Module
    counts = {"vocab_size": len(tokenizer), "embedding_rows": int(embedding.shape[0]),
              "parameters": sum(p.numel() for p in model.parameters())}
    with atomic_output_dir(out, force=cfg.force, inputs=[adapter_dir, base_dir]) as tmp:
        names = save_model_dir(model, tokenizer, tmp)
        write_json(tmp / "manifest.json", build_manifest("train merge", cfg, [adapter_dir, base_dir], counts, names))
    log.info("merged %s into %s -> %s", adapter_dir, base_dir, out)
    return {"out": str(out), "base": str(base_dir), **counts}
