"""The end of a run: the final model moved into OUT (a full model, a LoRA adapter with its base, or the merged
model with the adapter beside it), a last evaluation, and the manifest with what was trained on."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import torch

from vocabx.train.config import RunConfig
from vocabx.train.merge import BASE_SUBDIR, merged_model, save_model_dir
from vocabx.train.rundir import final_out, publish_final

log = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "config.json", "generation_config.json")


def write_final(out: Path, model: torch.nn.Module, tokenizer: Any, cfg: RunConfig, model_dir: Path,
                embed_ckpt: Path | None) -> list[str]:
    """Move the final model into OUT. LoRA runs whose embeddings stage changed the base also keep that base."""

    def write(tmp: Path) -> list[str]:
        if not hasattr(model, "peft_config"):  # a plain model (full training, or merged already)
            return save_model_dir(model, tokenizer, tmp)
        # With --merge, OUT is the merged model and the adapter sits in OUT/adapter; else OUT is the adapter.
        # The adapter names its base by the path it will have once the run is in place (a staged run moves).
        target = final_out(out)
        adapter, final_adapter = (tmp / "adapter", target / "adapter") if cfg.merge else (tmp, target)
        adapter.mkdir(exist_ok=True)
        base = model_dir
        if embed_ckpt is not None:
            _copy_base(embed_ckpt, tokenizer, adapter / BASE_SUBDIR)
            base = final_adapter / BASE_SUBDIR
        model.peft_config["default"].base_model_name_or_path = str(base)
        model.save_pretrained(adapter, save_embedding_layers=False)  # new rows are in the token deltas
        tokenizer.save_pretrained(adapter)
        if cfg.merge:
            save_model_dir(merged_model(model), tokenizer, tmp)
        return sorted(p.name for p in tmp.iterdir())

    return publish_final(out, write)


def complete_run(command: str, out: Path, model: torch.nn.Module, loaded: Any, cfg: RunConfig,
                 counts: dict[str, Any], started: float, embed_ckpt: Path | None = None) -> Path:
    """The main process's last step of a training command: final model into the run directory `out`, then
    manifest.json, then (for a staged --force run) the swap into OUT; returns the final OUT."""
    import time

    from vocabx.outputs import build_manifest
    from vocabx.train.rundir import finish_run

    names = write_final(out, model, loaded.tokenizer, cfg, loaded.model_dir, embed_ckpt)
    counts["seconds"] = round(time.perf_counter() - started, 2)
    inputs = [loaded.model_dir, *cfg.data, *cfg.replay]
    written = [*names, *(["log.jsonl"] if (out / "log.jsonl").is_file() else []), "manifest.json"]
    return finish_run(out, build_manifest(command, cfg, inputs, counts, written), cfg.keep_checkpoints)


def _copy_base(ckpt: Path, tokenizer: Any, target: Path) -> None:
    """The embeddings-stage result (a full model checkpoint) as a plain model directory."""
    target.mkdir(parents=True)
    for name in WEIGHT_FILES:
        if (ckpt / name).is_file():
            shutil.copy2(ckpt / name, target / name)
    for shard in ckpt.glob("model-*.safetensors"):
        shutil.copy2(shard, target / shard.name)
    tokenizer.save_pretrained(target)


def last_loss(log_path: Path) -> float | None:
    """The loss of the last log.jsonl record that has one."""
    import json

    if not log_path.is_file():
        return None
    losses = [json.loads(line).get("loss") for line in log_path.read_text(encoding="utf-8").splitlines() if line]
    losses = [x for x in losses if x is not None]
    return float(losses[-1]) if losses else None
