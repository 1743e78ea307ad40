"""One training stage on the Hugging Face Trainer: arguments from a run config, the JSONL log, the eval hook,
checkpoints and resume. The same code runs on one CPU or under `accelerate launch` / `torchrun` on many GPUs."""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from transformers import PreTrainedModel, Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from vocabx.errors import OutputError, first_line
from vocabx.outputs import disk_full, write_text_atomic
from vocabx.train.checkpoints import checkpoint_step, discard_incomplete, is_complete, last_complete
from vocabx.train.config import RunConfig
from vocabx.train.rundir import interrupt_pending

log = logging.getLogger(__name__)


class Ledger(Protocol):
    """What the training order knows about its prefix: tokens, characters, replay share of the first n examples."""

    def consumed(self, examples: int) -> dict[str, float]: ...


@dataclass
class Stage:
    """One Trainer run: its name, steps, learning rate, and where it sits in the whole run's data and step count."""

    name: str
    steps: int
    lr: float
    weight_decay: float
    first_example: int = 0  # examples (blocks or conversations) consumed by earlier stages
    first_step: int = 0  # optimiser steps taken by earlier stages


def distributed_state():
    """accelerate's process state: joins torch.distributed under torchrun / accelerate launch (gloo on CPU-only
    machines, which accelerate only picks when told `cpu=True`), a single process otherwise."""
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def bf16_default(requested: bool | None) -> bool:
    """bf16 autocast where the hardware computes in it: a CUDA GPU with bf16, or a CPU with native bf16 dot products
    (AVX512-BF16 / AMX), where a SmolLM2-shaped training step ran 1.66x the tokens/s of float32 (bench/RESULTS.md,
    "float32 and bf16 autocast"). Never by default on CPUs that would emulate it."""
    if requested is not None:
        return requested
    if torch.cuda.is_available():
        return bool(torch.cuda.is_bf16_supported())
    return cpu_has_native_bf16()


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 dot-product instructions (Linux's /proc/cpuinfo flags; False where unreadable)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def training_arguments(cfg: RunConfig, stage: Stage, ckpt_dir: Path, progress: bool) -> TrainingArguments:
    """TrainingArguments for a stage; data order is fixed by vocabx (sequential sampler), not by the Trainer."""
    return TrainingArguments(
        output_dir=str(ckpt_dir),
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=stage.lr,
        weight_decay=stage.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        max_steps=stage.steps,
        lr_scheduler_type="constant_with_warmup",  # the shape is vocabx's: `ScheduledTrainer.create_scheduler`
        warmup_steps=min(cfg.warmup_steps, stage.steps),
        seed=cfg.seed,
        bf16=bf16_default(cfg.bf16),
        logging_steps=cfg.log_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=2,  # two, so a kill while writing the newest still leaves a complete one
        report_to=[],
        disable_tqdm=not progress,
        train_sampling_strategy="sequential",  # the mix is already shuffled with the seed; keeps resume exact
        dataloader_drop_last=True,
        remove_unused_columns=False,
        ddp_find_unused_parameters=False,
        dataloader_pin_memory=torch.cuda.is_available(),
        use_cpu=not torch.cuda.is_available(),  # must agree with distributed_state(), or the ranks never meet
    )


class BarOnly(ProgressCallback):
    """The Trainer's progress bar (stderr), named after the stage and showing the last loss, without the Trainer's
    log lines on stdout: vocabx logs to log.jsonl instead."""

    def __init__(self, desc: str) -> None:
        super().__init__()
        self.desc = desc

    def on_train_begin(self, args, state, control, **kwargs):
        super().on_train_begin(args, state, control, **kwargs)
        if self.training_bar is not None:
            self.training_bar.unit = "step"
            self.training_bar.set_description_str(self.desc)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.training_bar is not None and logs and "loss" in logs:
            self.training_bar.set_postfix_str(f"loss {logs['loss']:.4f}", refresh=False)


class StopOnCtrlC(TrainerCallback):
    """Raises KeyboardInterrupt at the step end after a Ctrl-C (`rundir.guarded_run` records it), in case compiled
    code dropped the one the signal raised."""

    def on_step_end(self, args, state, control, **kwargs):
        if interrupt_pending():
            raise KeyboardInterrupt


class JsonlLog(TrainerCallback):
    """Appends one record per log event to OUT/log.jsonl (main process only): step, loss, lr, tokens, chars, and
    the replay share of what was read where the data mixes replay in."""

    def __init__(self, path: Path, stage: Stage, ledger: Ledger, global_batch: int, elapsed_before: float) -> None:
        self.path, self.stage, self.ledger, self.global_batch = path, stage, ledger, global_batch
        self.start = time.perf_counter() - elapsed_before

    def record(self, step: int, values: dict[str, Any]) -> dict[str, Any]:
        seen = self.ledger.consumed(self.stage.first_example + step * self.global_batch)
        entry = {"step": self.stage.first_step + step, "stage": self.stage.name, **values,
                 "tokens": int(seen["tokens"]), "chars": int(round(seen["chars"])),
                 **({"replay_share": round(seen["replay_share"], 4)} if "replay_share" in seen else {}),
                 "elapsed": round(time.perf_counter() - self.start, 3)}
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return entry

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps:
            control.should_log = True  # a last record at the end, so a run shorter than --log-steps has a loss too

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return
        extra = {k: float(v) for k, v in logs.items() if k.startswith("loss_")}  # a stage's loss parts
        self.record(state.global_step, {"loss": float(logs["loss"]), "lr": float(logs.get("learning_rate", 0.0)),
                                        "grad_norm": _float_or_none(logs.get("grad_norm")), **extra})


class EvalHook(TrainerCallback):
    """Every `every` steps, calls `evaluate(model)` and logs its figures to log.jsonl (main process only)."""

    def __init__(self, every: int, evaluate: Callable[[torch.nn.Module], dict[str, float]], journal: JsonlLog) -> None:
        self.every, self.evaluate, self.journal = every, evaluate, journal

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.is_world_process_zero and model is not None and state.global_step % self.every == 0:
            figures = self.evaluate(model)
            if figures:
                self.journal.record(state.global_step, figures)


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def last_logged_elapsed(path: Path, up_to_step: int) -> float:
    """Rewrite log.jsonl keeping records up to `up_to_step` (a resumed run redoes later steps); their last elapsed.

    A line torn by a kill or a full disk is dropped; the file is replaced atomically."""
    if not path.is_file():
        return 0.0
    kept = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        record = _record(line)
        if record is not None and record.get("step", up_to_step + 1) <= up_to_step:
            kept.append((line, record))
    write_text_atomic(path, "".join(line + "\n" for line, _ in kept))
    return float(kept[-1][1].get("elapsed", 0.0)) if kept else 0.0


def _record(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) and isinstance(record.get("step"), int) else None


class CheckpointWriteError(OutputError):
    """A checkpoint could not be written (most often a full disk); the incomplete folder has been removed."""


class CleanCheckpoints:
    """Mixed into every stage's Trainer: a checkpoint write that fails (most often a full disk) removes its
    incomplete folder at once (it would only hold space) and says which checkpoint --resume continues from."""

    def _save_checkpoint(self, model, trial):  # the Trainer's own hook (transformers 4.x-5.x); see class docstring
        try:
            super()._save_checkpoint(model, trial)
        except Exception as exc:
            stage_dir = Path(self.args.output_dir)
            folder = stage_dir / f"checkpoint-{self.state.global_step}"
            if self.args.should_save:
                shutil.rmtree(folder, ignore_errors=True)
            kept = last_complete(stage_dir)
            cause = "disk full" if disk_full(exc) else f"{type(exc).__name__}: {first_line(exc)}"
            resume = f"--resume continues from {kept.name}" if kept else "--resume starts this stage over"
            raise CheckpointWriteError(f"cannot write {folder} ({cause}); the incomplete checkpoint was removed",
                                       hint=f"free space, then rerun the same command with --resume ({resume})") from exc


class TimeBudget(TrainerCallback):
    """A wall-clock budget (--max-minutes): stops training once `minutes` have passed since `started` (the
    command's start, model loading included), and tells a stage's schedule how much of the budget is spent."""

    def __init__(self, started: float, minutes: float | None) -> None:
        self.started, self.minutes, self.stopped_at = started, minutes, None
        self.before = 0.0  # seconds of training an interrupted run had logged up to the checkpoint resumed from

    def credit(self, seconds: float) -> None:
        """Count the training time of the run this one resumes (its log's elapsed at the checkpoint), so that a
        resumed run ends the budget and its schedule where the uninterrupted run would have."""
        self.before = seconds

    def spent(self) -> float:
        """Share of the budget used so far (0 without a budget)."""
        if self.minutes is None:
            return 0.0
        return (time.perf_counter() - self.started + self.before) / (60 * self.minutes)

    def on_step_end(self, args, state, control, **kwargs):
        if self.minutes is not None and self.spent() >= 1:
            control.should_training_stop = True
            control.should_log = True  # the step the budget ends on has its record in log.jsonl
            self.stopped_at = state.global_step


WSD_DECAY = 0.2  # the share of a wsd schedule spent decaying (warm-up, stable, decay: MiniCPM's 10-20%)


def schedule_factor(kind: str, step: int, warmup: int, progress: float) -> float:
    """The learning-rate multiplier of a schedule `kind` at `step`: linear warm-up over `warmup` steps, then the
    decay at `progress` (0 to 1) of the stage: cosine and linear as the Trainer's, constant, or wsd (constant, then
    linear to 0 over the last `WSD_DECAY`)."""
    if step < warmup:
        return step / max(1, warmup)
    progress = min(max(progress, 0.0), 1.0)
    if kind == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if kind == "linear":
        return 1.0 - progress
    if kind == "wsd":
        return min(1.0, (1.0 - progress) / WSD_DECAY)
    return 1.0


class ScheduledTrainer(Trainer):
    """A Trainer whose learning-rate schedule is vocabx's --schedule (`schedule_factor`). With a `time_budget` the
    schedule decays with the share of the budget spent instead of the share of its steps, so a run bounded by
    minutes ends its decay when its time ends (its step count is unknown when it starts)."""

    time_budget: TimeBudget | None = None
    schedule: str = "cosine"  # the run's --schedule (`run_stage` sets it)

    def create_scheduler(self, num_training_steps: int, optimizer: torch.optim.Optimizer | None = None):
        """Every vocabx schedule, from `schedule_factor`: its progress is the share of the stage's steps done, or,
        under a time budget, of the budget spent where that is further along (a budget longer than the data still
        ends with the data, decayed as usual)."""
        if self.lr_scheduler is not None:
            return self.lr_scheduler
        budget = self.time_budget if self.time_budget is not None and self.time_budget.minutes else None
        kind, steps = self.schedule, num_training_steps
        warmup = self.args.get_warmup_steps(num_training_steps)

        def factor(step: int) -> float:
            progress = (step - warmup) / max(1, steps - warmup)
            return schedule_factor(kind, step, warmup, progress if budget is None else max(budget.spent(), progress))

        # A function, not a callable object: LambdaLR's state_dict leaves functions out, so resume keeps this clock.
        opt = self.optimizer if optimizer is None else optimizer
        assert opt is not None  # the Trainer creates the optimizer first
        self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        self._created_lr_scheduler = True
        return self.lr_scheduler


class NewRowsRate(ScheduledTrainer):
    """A Trainer whose new embedding rows (ids >= `new_start`, added by `vocabx extend`) learn at `rows_lr` while
    the body trains at the stage's rate; None keeps one rate for all (then it is a `ScheduledTrainer`)."""

    rows_lr: float | None = None  # the new rows' learning rate when they train with the body (LoRA or full)
    new_start: int | None = None  # first new id: with a full stage the new rows' updates are scaled to rows_lr

    def create_optimizer(self, model=None):
        """With LoRA, the new rows (peft's trainable-token deltas) get `rows_lr`: at LoRA's rate (2e-4) they
        moved by less than 0.01 in 40 steps (measured), far too little to learn a token. `model`: the wrapped model
        the Trainer passes when it creates the optimizer late (FSDP), else our own."""
        opt_model = self.model if model is None else model
        if self.optimizer is None and self.rows_lr is not None:
            named = [(n, p) for n, p in opt_model.named_parameters() if p.requires_grad]
            rows = [p for n, p in named if "trainable_tokens_delta" in n]
            if rows:
                cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(self.args, opt_model)
                rest = [p for n, p in named if "trainable_tokens_delta" not in n]
                self.optimizer = cls([{"params": rest, "weight_decay": self.args.weight_decay},
                                      {"params": rows, "lr": self.rows_lr, "weight_decay": 0.0}], **kwargs)
        fresh = self.optimizer is None
        optimizer = super().create_optimizer(model)
        if fresh and self.rows_lr is not None and self.new_start is not None:
            scale_new_rows(optimizer, self.model, self.new_start, self.rows_lr / self.args.learning_rate)
        return optimizer


def scale_new_rows(optimizer: torch.optim.Optimizer, model: PreTrainedModel, new_start: int, factor: float) -> bool:
    """With --method full the new rows are rows of the embedding matrices the body's optimizer updates at --lr; a
    token learnt at that rate barely moves (see `create_optimizer`). Adam's step does not depend on the gradient's
    scale, so the rate is raised by scaling each step's change of those rows by `factor` (= rows_lr / lr), which is
    what a parameter group of their own at rows_lr would do. Returns whether any trainable embedding was found."""
    weights = {id(m.weight): m.weight for m in (model.get_input_embeddings(), model.get_output_embeddings())
               if m is not None and m.weight.requires_grad}
    if not weights or factor == 1.0:
        return bool(weights)
    before: dict[int, torch.Tensor] = {}

    def pre(opt, args, kwargs):
        for key, w in weights.items():
            before[key] = w.detach()[new_start:].clone()

    def post(opt, args, kwargs):
        with torch.no_grad():
            for key, w in weights.items():
                rows = w[new_start:]
                rows.copy_(before[key] + factor * (rows - before[key]))
        before.clear()

    optimizer.register_step_pre_hook(pre)
    optimizer.register_step_post_hook(post)
    return True


def with_clean_checkpoints(trainer_cls: type[ScheduledTrainer]) -> type[ScheduledTrainer]:
    """`trainer_cls` with `CleanCheckpoints` mixed in (any stage's own Trainer subclass keeps its loss)."""
    if issubclass(trainer_cls, CleanCheckpoints):
        return trainer_cls
    return type(f"Clean{trainer_cls.__name__}", (CleanCheckpoints, trainer_cls), {})


def run_stage(
    model: torch.nn.Module,
    dataset: torch.utils.data.Dataset,
    cfg: RunConfig,
    stage: Stage,
    run_dir: Path,
    ledger: Ledger,
    *,
    collator: Callable | None = None,
    callbacks: Sequence[TrainerCallback] = (),
    evaluate: Callable[[torch.nn.Module], dict[str, float]] | None = None,
    progress: bool = False,
    trainer_cls: type[ScheduledTrainer] = ScheduledTrainer,
) -> Trainer:
    """Train one stage to `stage.steps`, resuming from its last checkpoint when one exists; return the Trainer.

    `trainer_cls` is a `ScheduledTrainer` subclass for stages with their own loss (distillation) or rates (new rows).
    """
    ckpt_dir = run_dir / "checkpoints" / stage.name
    args = training_arguments(cfg, stage, ckpt_dir, progress)
    global_batch = cfg.batch_size * cfg.grad_accum * args.world_size
    if args.process_index == 0:
        discard_incomplete(run_dir / "checkpoints")  # a kill mid-save leaves one; resume from the last whole one
    last = last_complete(ckpt_dir)
    resume_from = str(last) if last is not None else None
    done = (checkpoint_step(last) or 0) if last is not None else 0
    elapsed = 0.0
    if args.process_index == 0:
        elapsed = last_logged_elapsed(run_dir / "log.jsonl", stage.first_step + done)
    journal = JsonlLog(run_dir / "log.jsonl", stage, ledger, global_batch, elapsed)
    budget = getattr(trainer_cls, "time_budget", None)
    if resume_from and budget is not None:
        budget.credit(elapsed)
    hooks: list[TrainerCallback] = [journal, StopOnCtrlC()]
    if evaluate is not None and cfg.eval_steps:
        hooks.append(EvalHook(cfg.eval_steps, evaluate, journal))
    trainer = with_clean_checkpoints(trainer_cls)(model=model, args=args, train_dataset=dataset,
                                                  data_collator=collator, callbacks=[*hooks, *callbacks])
    # Library code never prints: drop the Trainer's stdout printer, keep a bar only when asked for progress.
    trainer.schedule = cfg.schedule
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    if progress:
        trainer.add_callback(BarOnly(f"{stage.name} stage"))
    if resume_from:
        log.info("%s stage: resuming from %s (step %d of %d)", stage.name, resume_from, done, stage.steps)
    trainer.train(resume_from_checkpoint=resume_from)
    return trainer


def stage_is_done(run_dir: Path, stage: Stage) -> Path | None:
    """The checkpoint a finished stage left (the Trainer saves at its last step), or None."""
    ckpt = run_dir / "checkpoints" / stage.name / f"checkpoint-{stage.steps}"
    return ckpt if is_complete(ckpt) else None


def steps_for(examples: int, global_batch: int, max_steps: int | None, epochs: int) -> tuple[int, int]:
    """(passes over the data, optimiser steps): --max-steps wins; otherwise `epochs` full passes."""
    per_pass = examples // global_batch
    if per_pass == 0:
        return 1, 0
    if max_steps is None:
        return epochs, per_pass * epochs
    return max(1, math.ceil(max_steps / per_pass)), max_steps
