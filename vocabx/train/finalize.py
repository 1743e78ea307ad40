"""The end of a run: the final model moved into OUT (a full model, a LoRA adapter referencing its base, or the
merged model with the adapter beside it), a last evaluation, and the manifest with what was trained on."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from vocabx.progress import step
from vocabx.train.config import RunConfig
from vocabx.train.merge import merged_model, save_model_dir
from vocabx.train.rundir import publish_final

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedModel

log = logging.getLogger(__name__)


def write_final(out: Path, model: PreTrainedModel | PeftModel, tokenizer: Any, cfg: RunConfig, model_dir: Path,
                embed_ckpt: Path | None) -> list[str]:
    """Move the final model into OUT: a full model, or a LoRA adapter (and with --merge the merged model).

    A LoRA adapter references MODEL as its base and keeps no copy of it, also after an embeddings stage: that stage
    changes only the new rows (old rows frozen, decay off), and peft's trainable-token rows store those rows' final
    values, which applying the adapter writes over MODEL's rows (`embed_ckpt` is only logged)."""

    def write(tmp: Path) -> list[str]:
        if not hasattr(model, "peft_config"):  # a plain model (full training, or merged already)
            return save_model_dir(cast("PreTrainedModel", model), tokenizer, tmp)
        peft_model = cast("PeftModel", model)
        # With --merge, OUT is the merged model and the adapter sits in OUT/adapter; else OUT is the adapter.
        adapter = tmp / "adapter" if cfg.merge else tmp
        adapter.mkdir(exist_ok=True)
        if embed_ckpt is not None:
            log.info("embeddings stage %s: its new rows are in the adapter's token rows; base stays %s",
                     embed_ckpt, model_dir)
        peft_model.peft_config["default"].base_model_name_or_path = str(Path(model_dir).resolve())
        peft_model.save_pretrained(str(adapter), save_embedding_layers=False)  # new rows are in the token deltas
        tokenizer.save_pretrained(adapter)
        if cfg.merge:
            save_model_dir(merged_model(peft_model), tokenizer, tmp)
        return sorted(p.name for p in tmp.iterdir())

    return publish_final(out, write)


def complete_run(command: str, out: Path, model: PreTrainedModel | PeftModel, loaded: Any, cfg: RunConfig,
                 counts: dict[str, Any], started: float, embed_ckpt: Path | None = None,
                 progress: bool = False) -> Path:
    """The main process's last step of a training command: final model into the run directory `out`, then
    manifest.json, then (for a staged --force run) the swap into OUT; returns the final OUT."""
    import time

    from vocabx.outputs import build_manifest
    from vocabx.train.rundir import finish_run

    with step(f"writing the final model into {out}", progress):
        names = write_final(out, model, loaded.tokenizer, cfg, loaded.model_dir, embed_ckpt)
    counts["seconds"] = round(time.perf_counter() - started, 2)
    inputs = [loaded.model_dir, *cfg.data, *cfg.replay]
    written = [*names, *(["log.jsonl"] if (out / "log.jsonl").is_file() else []), "manifest.json"]
    return finish_run(out, build_manifest(command, cfg, inputs, counts, written), cfg.keep_checkpoints)


def last_loss(log_path: Path) -> float | None:
    """The loss of the last log.jsonl record that has one."""
    import json

    if not log_path.is_file():
        return None
    losses = [json.loads(line).get("loss") for line in log_path.read_text(encoding="utf-8").splitlines() if line]
    losses = [x for x in losses if x is not None]
    return float(losses[-1]) if losses else None
