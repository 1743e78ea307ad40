"""`train_distill`: the base model teaches the extended model its own behaviour on any text, through the new
tokens. The teacher reads the base tokenization once (targets cached), the student reads the extended one; the
losses are in `distill_loss`. A rows stage trains only the new rows; `--method lora|full` adds a body stage."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, TrainerCallback

from vocabx.errors import CorpusError, ModelError, UsageError
from vocabx.quiet import quiet_loading
from vocabx.train.align import VocabMap
from vocabx.train.config import DistillConfig
from vocabx.train.data import source_share
from vocabx.train.distill_data import (
    SHARD_WINDOWS,
    TARGETS_FORMAT,
    LazyTargets,
    collate_targets,
    mix_windows,
    read_windows,
    teacher_function,
)
from vocabx.train.distill_loss import Groups, Targets, Weights, distill_losses
from vocabx.train.engine import (
    NewRowsRate,
    Stage,
    TimeBudget,
    bf16_default,
    run_stage,
    stage_is_done,
    steps_for,
)
from vocabx.train.finalize import complete_run
from vocabx.train.loading import Loaded, bpc_hook, resolve_model_dir, start_run
from vocabx.train.lora import wrap_lora
from vocabx.train.newrows import NewRowsOnly
from vocabx.train.rundir import final_out, guarded_run, open_run_dir
from vocabx.train.teacher import Teacher

log = logging.getLogger(__name__)

COMMAND = "train distill"
TEACHER_DIR = "teacher"  # OUT/teacher/: the cached targets, kept until the run completes


class DistillTrainer(NewRowsRate):
    """A Trainer whose loss is the distillation loss against the targets in each batch (the new rows at their own
    rate, `NewRowsRate`)."""

    weights: Weights = Weights()
    groups: Groups | None = None
    layers: Sequence[int] = ()

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        hidden = inputs.get("hidden")
        need_hidden = bool(self.layers) and self.weights.hidden > 0 and hidden is not None
        out = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                    output_hidden_states=need_hidden)
        targets = Targets(
            labels=inputs["labels"], open=inputs["open"], close=inputs["close"], chunk_from=inputs["chunk_from"],
            top_ids=inputs["top_ids"], top_logp=inputs["top_logp"], rest_logp=inputs["rest_logp"],
            pair_ids=inputs["pair_ids"], pair_logp=inputs["pair_logp"], alone_logp=inputs["alone_logp"],
            has2=inputs["has2"], chunk_logp=inputs["chunk_logp"],
            hidden=hidden.transpose(0, 1) if need_hidden else None)
        student_hidden = [out.hidden_states[i] for i in self.layers] if need_hidden else []
        parts = distill_losses(out.logits, student_hidden, targets, self.groups.to(out.logits.device), self.weights)
        self._parts = {f"loss_{k}": float(v.detach()) for k, v in parts.items() if k != "loss"}
        return (parts["loss"], out) if return_outputs else parts["loss"]

    def log(self, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
        if "loss" in logs and getattr(self, "_parts", None):
            logs = {**logs, **self._parts}  # the last step's parts, next to the Trainer's averaged total
        super().log(logs, *args, **kwargs)


def resolve_teacher(cfg: DistillConfig, model_dir: Path) -> Path:
    """--teacher, else the base that `vocabx extend` recorded in MODEL/manifest.json."""
    if cfg.teacher:
        return resolve_model_dir(cfg.teacher)
    manifest = model_dir / "manifest.json"
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))["config"]["base"]
    except (OSError, ValueError, KeyError, TypeError):
        raise UsageError(f"{model_dir} records no base model (no manifest.json from `vocabx extend`)",
                         hint="pass --teacher BASE_MODEL") from None
    return resolve_model_dir(str(recorded))


def check_prefix(teacher_tok: Any, student_tok: Any) -> int:
    """The base vocabulary size; refuse a teacher whose vocabulary is not the first ids of the student's."""
    t_vocab, s_vocab = teacher_tok.get_vocab(), student_tok.get_vocab()
    size = len(t_vocab)
    differing = [tok for tok, i in t_vocab.items() if s_vocab.get(tok) != i]
    if differing or any(i < size for tok, i in s_vocab.items() if tok not in t_vocab):
        example = differing[0] if differing else "(a new token with an old id)"
        raise ModelError(f"the teacher's vocabulary is not the first {size} ids of the student's ({example!r} differs)",
                         hint="pass the base the student was extended from with --teacher")
    return size


def train_distill(cfg: DistillConfig, *, progress: bool = False,
                  callbacks: Sequence[TrainerCallback] = ()) -> dict[str, Any]:
    """Run distillation as configured and return the counts recorded in OUT/manifest.json."""
    with quiet_loading():
        return _train_distill(cfg, progress, callbacks)


def _train_distill(cfg: DistillConfig, progress: bool, callbacks: Sequence[TrainerCallback]) -> dict[str, Any]:
    run = start_run(cfg, COMMAND, progress)
    if isinstance(run, dict):  # it had already finished: its recorded result
        return run
    state, started, loaded = run.state, run.started, run.loaded
    if loaded.new_start is None:
        raise UsageError(f"{loaded.model_dir} has no new rows to distil into",
                         hint="pass --new-from ID (the first new id), or the output of `vocabx extend MODEL ...`")
    teacher_dir = resolve_teacher(cfg, loaded.model_dir)
    teacher_tok = AutoTokenizer.from_pretrained(teacher_dir)
    base_size = check_prefix(teacher_tok, loaded.tokenizer)
    vmap = VocabMap.from_dir(loaded.model_dir, base_size)
    order, flags, counts = _windows(cfg, teacher_tok, loaded, vmap)
    global_batch = cfg.batch_size * cfg.grad_accum * state.num_processes
    passes, total = steps_for(len(order), global_batch, cfg.max_steps, cfg.epochs)
    if total == 0:
        raise CorpusError(f"the data gives {len(order)} windows, fewer than one batch of {global_batch}",
                          hint="add data (--max-chars), or lower --batch-size / --block-size")
    counts.update(_new_token_use(order, base_size, len(loaded.tokenizer) - base_size))
    run_dir = open_run_dir(state, cfg, COMMAND, [loaded.model_dir, teacher_dir, *cfg.data, *cfg.replay])
    with guarded_run(run_dir):
        # Under --max-minutes the teacher runs one step ahead, not a shard ahead: 64 windows are 8 steps of teacher
        # work, which the budget would not see (a 1-minute run took 3 minutes, 160 s of it the first shard).
        shard = global_batch if cfg.max_minutes is not None else SHARD_WINDOWS
        dataset = _lazy_targets(cfg, run_dir, teacher_dir, order, total * global_batch, vmap, shard)
        if cfg.untie:
            _untie(loaded.model)
        clock = TimeBudget(started, cfg.max_minutes)
        evaluate = _eval_hook(cfg, loaded)
        before = _fingerprint(loaded.model, loaded.new_start) if cfg.method == "rows" else None
        model = _run_stages(cfg, loaded, vmap, dataset, flags, run_dir, total, global_batch, evaluate,
                            [clock, *callbacks], progress)
        counts.update(steps=total, passes=passes, global_batch=global_batch, world_size=state.num_processes,
                      new_rows_from=loaded.new_start, stopped_early_at_step=clock.stopped_at, untied=cfg.untie,
                      teacher=str(teacher_dir), teacher_targets_format=TARGETS_FORMAT,
                      teacher_windows_computed=dataset.teacher_windows,
                      teacher_seconds=round(dataset.teacher_seconds, 2))
        if before is not None:
            counts["body_and_old_rows_identical"] = _fingerprint(model, loaded.new_start) == before
            if not counts["body_and_old_rows_identical"]:
                raise ModelError("the rows stage changed a frozen weight", hint="report this as a vocabx bug")
        if state.is_main_process:
            if evaluate is not None:
                counts.update(evaluate(model))
            complete_run(COMMAND, run_dir, model, loaded, cfg, counts, started, progress=progress)
    state.wait_for_everyone()
    return {"out": str(final_out(run_dir)), **counts}


def _windows(cfg: DistillConfig, teacher_tok: Any, loaded: Loaded, vmap: VocabMap):
    """The training order: domain windows (and replay windows at --replay-ratio), with the counts of what was read."""
    max_windows = None if cfg.max_tokens is None else max(1, cfg.max_tokens // cfg.block_size)
    domain = read_windows(cfg.data, cfg.text_field, cfg.max_chars, teacher_tok, loaded.tokenizer, vmap, cfg.block_size,
                          max_windows=max_windows)
    if not domain.windows:
        raise CorpusError(f"--data {', '.join(cfg.data)} gave no text", hint="check the paths and --text-field")
    replay_windows: list = []
    counts: dict[str, Any] = {"base_vocab_size": vmap.base_size, "domain_docs": domain.docs,
                              "domain_chars": domain.chars, "domain_windows": len(domain.windows),
                              "domain_tokens": domain.tokens, "domain_base_tokens": domain.base_tokens}
    if cfg.method != "rows" and not (cfg.replay and cfg.replay_ratio):
        log.warning("--method %s changes the body on --data alone, so general text gets worse (forgetting): add "
                    "general text with --replay (the measured recipe: --replay ZH --replay EN, --replay-ratio 0.3)",
                    cfg.method)
    if cfg.replay and cfg.replay_ratio:
        need = max(1, round(len(domain.windows) * cfg.replay_ratio / (1 - cfg.replay_ratio)))
        share = source_share(need, len(cfg.replay))
        parts = [read_windows([spec], cfg.text_field, None, teacher_tok, loaded.tokenizer, vmap,
                              cfg.block_size, max_windows=share) for spec in cfg.replay]
        replay_windows = [w for part in parts for w in part.windows][:need]
        counts.update(replay_docs=sum(p.docs for p in parts), replay_chars=sum(p.chars for p in parts),
                      replay_windows=len(replay_windows),
                      replay_windows_by_source={spec: len(p.windows) for spec, p in zip(cfg.replay, parts)})
    order, flags = mix_windows(domain.windows, replay_windows, cfg.replay_ratio or 0.0, cfg.seed)
    counts["replay_share"] = round(float(flags.mean()), 4) if len(flags) else 0.0
    counts["chars_per_token"] = round(domain.chars / max(1, domain.tokens), 4)
    counts["base_chars_per_token"] = round(domain.chars / max(1, domain.base_tokens), 4)
    return order, flags, counts


def _lazy_targets(cfg: DistillConfig, out: Path, teacher_dir: Path, order: list, length: int,
                  vmap: VocabMap, shard_windows: int) -> LazyTargets:
    """The training examples: the teacher's targets per window, computed as training reaches them (OUT/teacher/)."""
    with quiet_loading():
        model = AutoModelForCausalLM.from_pretrained(teacher_dir, dtype=torch.float32)
    # transformers wraps `to` in functools.wraps, whose typeshed type does not bind self (python/typeshed#10653).
    model.to("cuda" if torch.cuda.is_available() else "cpu")  # type: ignore[arg-type]
    depth = int(model.config.num_hidden_layers)
    layers = [i if i >= 0 else depth + 1 + i for i in cfg.layers()] if cfg.hidden_weight else []
    if any(not 0 <= i <= depth for i in layers):
        raise UsageError(f"--hidden-layers {cfg.hidden_layers} is outside the model's 0..{depth}",
                         hint=f"use indices between -{depth + 1} and {depth}")
    # The teacher's body is bf16 wherever the hardware computes in it, whatever --bf16 says of the student's autocast:
    # its head stays float32, which keeps the targets exact enough (Teacher), and it is the larger inference cost.
    compute = teacher_function(Teacher(model, bf16_default(None)), vmap, cfg.top_k, layers)
    return LazyTargets(order, length, out / TEACHER_DIR, compute, cfg.teacher_batch_size, shard_windows)


FEW = 5  # occurrences under which a new token's rows barely train in a CPU-sized run (bench/RESULTS.md, tnews)


def _new_token_use(order: list, base_size: int, n_new: int) -> dict[str, float | int]:
    """Share of new tokens among the training targets, and how many of the `n_new` new tokens occur at all and at
    least `FEW` times. Warns at no new token (the new output rows learn nothing) and where most new tokens occur
    fewer than `FEW` times: their rows barely move from their initialization."""
    targets = np.concatenate([w.ext[1:] for w in order]) if order else np.zeros(0, np.int64)
    per_token = np.bincount(targets[targets >= base_size] - base_size, minlength=n_new)
    new, often = int(per_token.sum()), int((per_token >= FEW).sum())
    if new == 0:
        log.warning("the training text holds no new token: the new output rows learn nothing from it "
                    "(add domain text to --data)")
    elif often < n_new / 2:
        log.warning("%d of the %d new tokens occur fewer than %d times in the training text: their rows barely "
                    "train (add --data text, raise --max-chars, or extend with a smaller --budget)",
                    n_new - often, n_new, FEW)
    return {"new_token_share": round(new / len(targets), 4) if len(targets) else 0.0,
            "new_tokens_in_text": int((per_token > 0).sum()), f"new_tokens_{FEW}_times": often}


def _untie(model: PreTrainedModel) -> None:
    """Give the head a matrix of its own (a copy of the tied one), so that new input and output rows differ."""
    head, emb = model.get_output_embeddings(), model.get_input_embeddings()
    if head is None or head.weight is not emb.weight:
        return
    head.weight = torch.nn.Parameter(emb.weight.detach().clone())
    model.config.tie_word_embeddings = False
    if hasattr(model.config, "get_text_config"):
        model.config.get_text_config().tie_word_embeddings = False


def _fingerprint(model: PreTrainedModel, new_start: int) -> dict[str, int]:
    """A cheap exact fingerprint of every weight that the rows stage must not change: the body, and the old rows
    of the embedding and head (hash of their bytes)."""
    import hashlib

    emb, head = model.get_input_embeddings().weight, getattr(model.get_output_embeddings(), "weight", None)
    out = {}
    for name, p in model.named_parameters():
        t = p.detach()
        if p is emb or p is head:
            t = t[:new_start]
        out[name] = int.from_bytes(hashlib.blake2b(t.contiguous().numpy().tobytes(), digest_size=8).digest(), "big")
    return out


def _eval_hook(cfg: DistillConfig, loaded: Loaded):
    if not cfg.eval_data:
        return None
    from vocabx.corpus import CorpusConfig, open_corpus

    config = CorpusConfig(text_field=cfg.text_field, max_docs=cfg.eval_max_docs)
    texts = list(open_corpus(cfg.eval_data, config).texts())
    return bpc_hook(texts, loaded.tokenizer)


def _run_stages(cfg, loaded, vmap, dataset, replay_flags, out, total, global_batch, evaluate, callbacks, progress):
    """The rows stage, then (for --method lora|full) the body stage; returns the final plain model."""
    rows_steps = min(total if cfg.method == "rows" else cfg.rows_steps, total)
    groups = Groups.from_vocab(vmap, loaded.model.get_input_embeddings().weight.shape[0])
    trainer_cls = type("StageTrainer", (DistillTrainer,), {
        "weights": Weights(cfg.canonical_weight, cfg.likelihood_weight, cfg.hidden_weight, cfg.lm_weight,
                           cfg.temperature),
        "groups": groups, "layers": _student_layers(cfg, loaded.model), "rows_lr": cfg.rows_lr,
        "new_start": loaded.new_start if cfg.method == "full" else None})
    model = loaded.model
    clock = callbacks[0]
    # The last stage is the one the clock stops: its schedule decays with the budget spent (--max-minutes).
    timed = type("TimedStageTrainer", (trainer_cls,), {"time_budget": clock})
    ledger = WindowLedger(dataset, loaded.tokenizer, replay_flags)
    if rows_steps:
        stage = Stage("rows", rows_steps, cfg.rows_lr, weight_decay=0.0)
        done = stage_is_done(out, stage)
        if done is not None and cfg.method != "rows":
            with quiet_loading():
                model = AutoModelForCausalLM.from_pretrained(done, dtype=torch.float32)
        else:
            mask = NewRowsOnly(loaded.new_start)
            mask.apply(model)
            part = torch.utils.data.Subset(dataset, range(rows_steps * global_batch))
            run_stage(model, part, cfg, stage, out, ledger, collator=collate_targets, callbacks=callbacks,
                      evaluate=evaluate, progress=progress, trainer_cls=timed if cfg.method == "rows" else trainer_cls)
            mask.remove(model)
    body_steps = total - rows_steps
    if body_steps and clock.stopped_at is None:
        if cfg.method == "lora":
            model = wrap_lora(model, cfg, loaded.new_start)
        stage = Stage(cfg.method, body_steps, cfg.lr, cfg.weight_decay, first_example=rows_steps * global_batch,
                      first_step=rows_steps)
        part = torch.utils.data.Subset(dataset, range(rows_steps * global_batch, total * global_batch))
        run_stage(model, part, cfg, stage, out, ledger, collator=collate_targets, callbacks=callbacks,
                  evaluate=evaluate, progress=progress, trainer_cls=timed)
        if cfg.method == "lora":
            from vocabx.train.merge import merged_model

            model = merged_model(model)
    return model


def _student_layers(cfg: DistillConfig, model: PreTrainedModel) -> list[int]:
    depth = int(model.config.num_hidden_layers)
    return [i if i >= 0 else depth + 1 + i for i in cfg.layers()] if cfg.hidden_weight else []


class WindowLedger:
    """Student tokens, characters and replay share of the first n examples of the training order, for log.jsonl
    (the characters of a window: its student tokens decoded, separators left out)."""

    def __init__(self, dataset: LazyTargets, tokenizer: Any, replay_flags: np.ndarray) -> None:
        n = len(dataset.order)
        index = np.arange(len(dataset)) % max(1, n)
        tokens = np.array([w.ext.size - 1 for w in dataset.order])
        chars = np.array([len(tokenizer.decode(w.ext[1:].tolist(), skip_special_tokens=True))
                          for w in dataset.order])
        flags = np.asarray(replay_flags, dtype=bool)
        self.tokens = np.cumsum(np.concatenate([[0], tokens[index]]))
        self.chars = np.cumsum(np.concatenate([[0], chars[index]]))
        self.domain_chars = np.cumsum(np.concatenate([[0], np.where(flags[index], 0, chars[index])]))
        self.replay = np.cumsum(np.concatenate([[0], flags[index].astype(int)]))

    def consumed(self, examples: int) -> dict[str, float]:
        n = min(examples, len(self.tokens) - 1)
        return {"tokens": float(self.tokens[n]), "chars": float(self.chars[n]),
                "domain_chars": float(self.domain_chars[n]),
                "replay_share": float(self.replay[n]) / n if n else 0.0}
