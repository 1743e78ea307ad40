"""`train_cpt`: continued pretraining. Packed domain blocks interleaved with replay, an embeddings stage that trains
only the new rows, then LoRA or full training, with checkpoints, resume, a JSONL log and a manifest."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import torch
from transformers import AutoModelForCausalLM, TrainerCallback

from vocabx.corpus import CorpusConfig, open_corpus
from vocabx.errors import CorpusError, UsageError
from vocabx.progress import step
from vocabx.quiet import quiet_loading
from vocabx.train.config import CPTConfig
from vocabx.train.data import BlockDataset, BlockMix, Packed, mix_blocks, pack_sources, pack_texts, replay_blocks_needed
from vocabx.train.engine import NewRowsRate, Stage, run_stage, stage_is_done, steps_for
from vocabx.train.finalize import complete_run, last_loss
from vocabx.train.loading import Loaded, bpc_hook, start_run
from vocabx.train.lora import wrap_lora
from vocabx.train.newrows import NewRowsOnly
from vocabx.train.rundir import final_out, guarded_run, open_run_dir

log = logging.getLogger(__name__)

DEFAULT_EMBED_STEPS = 100


def build_mix(cfg: CPTConfig, tokenizer: Any, block_size: int, global_batch: int) -> tuple[BlockMix, int]:
    """The training order for the whole run and its step count. With --max-steps, only the text it needs is read."""
    ratio = cfg.replay_ratio or 0.0
    wanted = None if cfg.max_tokens is None else cfg.max_tokens // block_size
    if cfg.max_steps is not None:
        need = math.ceil(cfg.max_steps * global_batch * (1.0 - ratio))
        wanted = need if wanted is None else min(wanted, need)
    data_flags = (("text_field", "--text-field {}"), ("max_chars", "--max-chars {}"))
    domain_texts = open_corpus(cfg.data, CorpusConfig(text_field=cfg.text_field, max_chars=cfg.max_chars,
                                                      flags=data_flags)).texts()
    domain = pack_texts(domain_texts, tokenizer, block_size, wanted, name="--data")
    replay: Packed | None = None
    by_source: dict[str, int] = {}
    if cfg.replay and ratio > 0:
        replay_config = CorpusConfig(text_field=cfg.text_field, flags=(("text_field", "--replay SPEC#{}"),))
        sources = {spec: open_corpus([spec], replay_config).texts() for spec in cfg.replay}
        needed = max(1, replay_blocks_needed(len(domain), ratio))
        replay, by_source = pack_sources(sources, tokenizer, block_size, needed)
    per_pass = len(domain) + (replay_blocks_needed(len(domain), ratio) if replay is not None else 0)
    passes, steps = steps_for(per_pass, global_batch, cfg.max_steps, cfg.epochs)
    if steps == 0:
        raise CorpusError(f"the data gives {per_pass} blocks of {block_size} tokens, fewer than one batch of {global_batch}",
                          hint="add data, or lower --block-size / --batch-size")
    mix = mix_blocks(domain, replay, ratio, cfg.seed, passes)
    if by_source:
        mix.counts["replay_blocks_by_source"] = by_source
    return mix, steps


def _embed_steps(cfg: CPTConfig, loaded: Loaded, total: int) -> int:
    if loaded.new_start is None:
        if cfg.embed_steps:
            raise UsageError(f"--embed-steps {cfg.embed_steps} but {loaded.model_dir} has no new rows",
                             hint="pass --new-from ID (the first added id), or drop --embed-steps")
        return 0
    wanted = DEFAULT_EMBED_STEPS if cfg.embed_steps is None else cfg.embed_steps
    return min(wanted, total)


def train_cpt(cfg: CPTConfig, *, progress: bool = False, callbacks: Sequence[TrainerCallback] = ()) -> dict[str, Any]:
    """Run continued pretraining as configured and return the counts recorded in OUT/manifest.json.

    `callbacks` are extra `transformers.TrainerCallback`s added to every stage (monitoring, tests).
    """
    with quiet_loading():
        return _train_cpt(cfg, progress, callbacks)


COMMAND = "train cpt"


def _train_cpt(cfg: CPTConfig, progress: bool, callbacks: Sequence[TrainerCallback]) -> dict[str, Any]:
    run = start_run(cfg, COMMAND, progress)
    if isinstance(run, dict):  # it had already finished: its recorded result
        return run
    state, started, loaded = run.state, run.started, run.loaded
    block_size = cfg.block_size or min(1024, loaded.context)
    if block_size > loaded.context:
        raise UsageError(f"--block-size {block_size} exceeds the model context of {loaded.context}",
                         hint=f"use --block-size {loaded.context} or less")
    if cfg.rows_lr is not None and loaded.new_start is None:
        raise UsageError(f"--rows-lr {cfg.rows_lr} but {loaded.model_dir} has no new rows",
                         hint="pass --new-from ID (the first added id), or drop --rows-lr")
    global_batch = cfg.batch_size * cfg.grad_accum * state.num_processes
    with step("reading and tokenizing " + ("--data and --replay" if cfg.replay else "--data"), progress):
        mix, total = build_mix(cfg, loaded.tokenizer, block_size, global_batch)
    embed = _embed_steps(cfg, loaded, total)
    evaluate = _eval_hook(cfg, loaded)
    run_dir = open_run_dir(state, cfg, COMMAND, [loaded.model_dir, *cfg.data, *cfg.replay])
    with guarded_run(run_dir):
        model, embed_ckpt = _run_stages(cfg, loaded, mix, run_dir, embed, total, global_batch, evaluate, callbacks,
                                        progress)
        counts = _counts(cfg, mix, total, embed, global_batch, loaded, run_dir, block_size, state.num_processes)
        if state.is_main_process:
            if evaluate is not None:
                counts.update(evaluate(model))
            complete_run(COMMAND, run_dir, model, loaded, cfg, counts, started, embed_ckpt, progress=progress)
    state.wait_for_everyone()
    return {"out": str(final_out(run_dir)), **counts}


def _run_stages(cfg, loaded, mix, out, embed, total, global_batch, evaluate, callbacks, progress):
    """The embeddings stage (skipped if a resumed run finished it), then the LoRA or full stage."""
    dataset = BlockDataset(mix.ids)
    model, embed_ckpt = loaded.model, None
    if embed:
        stage = Stage("embed", embed, cfg.embed_lr, weight_decay=0.0)  # decay would move the frozen old rows
        embed_ckpt = stage_is_done(out, stage)
        if embed_ckpt is not None:
            log.info("embeddings stage already done; loading %s", embed_ckpt)
            with quiet_loading():
                model = AutoModelForCausalLM.from_pretrained(embed_ckpt, dtype=torch.float32)
        else:
            mask = NewRowsOnly(loaded.new_start)
            mask.apply(model)
            part = torch.utils.data.Subset(dataset, range(embed * global_batch))
            run_stage(model, part, cfg, stage, out, mix, callbacks=callbacks, evaluate=evaluate, progress=progress)
            mask.remove(model)
            embed_ckpt = stage_is_done(out, stage)
    main_steps = total - embed
    if cfg.method == "lora":
        model = wrap_lora(model, cfg, loaded.new_start)
    if main_steps > 0:
        stage = Stage(cfg.method, main_steps, cfg.lr, cfg.weight_decay,
                      first_example=embed * global_batch, first_step=embed)
        part = torch.utils.data.Subset(dataset, range(embed * global_batch, total * global_batch))
        trainer_cls = type("CPTTrainer", (NewRowsRate,), {  # the new rows at --rows-lr, where it is given
            "rows_lr": cfg.rows_lr, "new_start": loaded.new_start if cfg.method == "full" else None})
        run_stage(model, part, cfg, stage, out, mix, callbacks=callbacks, evaluate=evaluate, progress=progress,
                  trainer_cls=trainer_cls)
    return model, embed_ckpt


def _eval_hook(cfg: CPTConfig, loaded: Loaded):
    if not cfg.eval_data:
        return None
    config = CorpusConfig(text_field=cfg.text_field, max_docs=cfg.eval_max_docs,
                          flags=(("text_field", "--eval-data SPEC#{}"), ("max_docs", "--eval-max-docs {}")))
    texts = list(open_corpus(cfg.eval_data, config).texts())
    return bpc_hook(texts, loaded.tokenizer)


def _counts(cfg, mix, total, embed, global_batch, loaded, out, block_size, world) -> dict[str, Any]:
    seen = mix.consumed(total * global_batch)
    return {
        "steps": total, "embed_steps": embed, "main_steps": total - embed, "block_size": block_size,
        "global_batch": global_batch, "world_size": world, "blocks": seen["blocks"], "tokens": seen["tokens"],
        "chars": int(round(seen["chars"])), "domain_chars": int(round(seen["domain_chars"])),
        "replay_blocks": seen["replay_blocks"], "replay_share": round(seen["replay_share"], 4),
        "replay_ratio": cfg.replay_ratio, "new_rows_from": loaded.new_start,
        "embedding_rows": int(loaded.model.get_input_embeddings().weight.shape[0]),
        "final_loss": last_loss(out / "log.jsonl"), **mix.counts,
    }
