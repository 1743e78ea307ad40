"""`train_sft`: instruction tuning on Alpaca/ShareGPT data through the chat template, loss on assistant turns
only, optional replay of general instructions, LoRA (with the new rows) or full, on the same engine as CPT."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from transformers import TrainerCallback

from vocabx.errors import CorpusError, UsageError
from vocabx.quiet import quiet_loading
from vocabx.train.config import SFTConfig
from vocabx.train.engine import Stage, run_stage, steps_for
from vocabx.train.finalize import complete_run, last_loss
from vocabx.train.loading import Loaded, start_run
from vocabx.train.lora import wrap_lora
from vocabx.train.rundir import final_out, guarded_run, open_run_dir
from vocabx.train.sft_data import PadCollator, SFTDataset, SFTMix, encode_all, mix_samples, read_records

log = logging.getLogger(__name__)


def build_sft_mix(cfg: SFTConfig, loaded: Loaded, global_batch: int) -> tuple[SFTMix, int, dict[str, int]]:
    """Encode the data (and replay), interleave it, and count the steps; counts say what was skipped and why."""
    tokenizer = loaded.tokenizer
    if not getattr(tokenizer, "chat_template", None):
        raise UsageError(f"the tokenizer of {loaded.model_dir} has no chat template",
                         hint="use an instruct model, or set tokenizer.chat_template and save it with the model")
    max_length = cfg.max_length or min(2048, loaded.context)
    if max_length > loaded.context:
        raise UsageError(f"--max-length {max_length} exceeds the model context of {loaded.context}",
                         hint=f"use --max-length {loaded.context} or less")
    domain = encode_all(read_records(cfg.data), tokenizer, max_length, cfg.overlong, cfg.system)
    domain = domain.head(cfg.max_chars, cfg.max_tokens)
    if not len(domain):
        raise CorpusError(f"SFT data {', '.join(cfg.data)} gave no usable conversation ({dict(domain.counts)})",
                          hint="expected Alpaca {instruction,input,output} or ShareGPT {conversations:[{from,value}]}")
    replay = None
    if cfg.replay and cfg.replay_ratio:
        replay = encode_all(read_records(cfg.replay), tokenizer, max_length, cfg.overlong, cfg.system)
    counts = {f"data_{k}": v for k, v in domain.counts.items()}
    counts.update({f"replay_{k}": v for k, v in (replay.counts if replay else {}).items()})
    for reason in ("truncated", "skipped_overlong"):
        if domain.counts.get(reason):
            log.warning("%d conversations longer than %d tokens were %s", domain.counts[reason], max_length,
                        "truncated" if reason == "truncated" else "skipped")
    n_replay = (round(len(domain) * cfg.replay_ratio / (1 - cfg.replay_ratio))
                if replay is not None and cfg.replay_ratio else 0)
    passes, steps = steps_for(len(domain) + n_replay, global_batch, cfg.max_steps, cfg.epochs)
    if steps == 0:
        raise CorpusError(f"{len(domain)} conversations are fewer than one batch of {global_batch}",
                          hint="add data, or lower --batch-size / --grad-accum")
    counts["max_length"] = max_length
    return mix_samples(domain, replay, cfg.replay_ratio or 0.0, cfg.seed, passes), steps, counts


def train_sft(cfg: SFTConfig, *, progress: bool = False, callbacks: Sequence[TrainerCallback] = ()) -> dict[str, Any]:
    """Run instruction tuning as configured and return the counts recorded in OUT/manifest.json."""
    with quiet_loading():
        return _train_sft(cfg, progress, callbacks)


COMMAND = "train sft"


def _train_sft(cfg: SFTConfig, progress: bool, callbacks: Sequence[TrainerCallback]) -> dict[str, Any]:
    run = start_run(cfg, COMMAND, progress)
    if isinstance(run, dict):  # it had already finished: its recorded result
        return run
    state, started, loaded = run.state, run.started, run.loaded
    global_batch = cfg.batch_size * cfg.grad_accum * state.num_processes
    mix, steps, data_counts = build_sft_mix(cfg, loaded, global_batch)
    run_dir = open_run_dir(state, cfg, COMMAND, [loaded.model_dir, *cfg.data, *cfg.replay])
    assert cfg.lr is not None  # RunConfig.__post_init__ fills in the default
    stage = Stage(cfg.method, steps, cfg.lr, cfg.weight_decay)
    with guarded_run(run_dir):
        model = wrap_lora(loaded.model, cfg, loaded.new_start) if cfg.method == "lora" else loaded.model
        run_stage(model, SFTDataset(mix), cfg, stage, run_dir, mix,
                  collator=PadCollator(loaded.tokenizer.pad_token_id), callbacks=callbacks, progress=progress)
        seen = mix.consumed(steps * global_batch)
        counts = {"steps": steps, "global_batch": global_batch, "world_size": state.num_processes,
                  "examples": seen["examples"], "tokens": seen["tokens"], "chars": int(seen["chars"]),
                  "replay_examples": seen["replay_examples"], "replay_share": round(seen["replay_share"], 4),
                  "replay_ratio": cfg.replay_ratio, "new_rows_from": loaded.new_start,
                  "final_loss": last_loss(run_dir / "log.jsonl"), **data_counts}
        if state.is_main_process:
            complete_run(COMMAND, run_dir, model, loaded, cfg, counts, started, progress=progress)
    state.wait_for_everyone()
    return {"out": str(final_out(run_dir)), **counts}
