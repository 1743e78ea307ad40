"""Config dataclasses of `vocabx train`: `CPTConfig` (continued pretraining), `SFTConfig` (instruction tuning),
`MergeConfig` (LoRA merge). Flags mirror field names; `--config FILE` fills the same fields."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal, get_args

from vocabx.config import documented as _help
from vocabx.config import text_field_option
from vocabx.errors import UsageError

METHODS = ("lora", "full")
Schedule = Literal["cosine", "linear", "constant", "wsd"]
SCHEDULES: tuple[str, ...] = get_args(Schedule)
OVERLONG = ("truncate", "skip")

# Fields that change how a run is watched or where it is written, not what it computes: a resumed run may differ
# in these and still continue the same optimisation.
OPERATIONAL_FIELDS = frozenset(
    {"out", "resume", "force", "save_steps", "log_steps", "keep_checkpoints", "merge", "eval_data", "eval_steps",
     "eval_max_docs"}
)



@dataclass(kw_only=True)
class RunConfig:
    """What CPT and SFT share: the model, the output, the optimiser, the bounds and the checkpoints of a run."""

    model: str = _help("Model directory (e.g. the output of `vocabx extend`) or the built-in `smollm2-135m`.", "")
    out: str = _help("Output directory: final model, log.jsonl, manifest.json, checkpoints/ while running.", "")
    data: tuple[str, ...] = _help("Training data: files, directories, globs, hf:org/name or corpus card names.", ())
    replay: tuple[str, ...] = _help(
        "General data replayed against forgetting (same spec forms as --data). CPT and distillation draw an equal "
        "share of the replay blocks from each --replay source; SFT samples all their records alike.", ())
    replay_ratio: float | None = _help(
        "Share of training blocks/samples drawn from --replay (0 <= R < 1); default 0.2 when --replay is given.")
    method: Literal["lora", "full"] = _help("lora: low-rank adapters (+ the new token rows); full: all weights.", "lora")
    lr: float | None = _help("Peak learning rate; default 2e-4 for lora, 3e-5 for full.")
    lora_r: int = _help("LoRA rank.", 16)
    lora_alpha: int | None = _help("LoRA alpha (scale alpha/r); default 2 * lora_r.")
    lora_dropout: float = _help("Dropout on the LoRA branch.", 0.05)
    new_from: int | None = _help(
        "First id of the new vocabulary rows; default: the base_vocab_size recorded in MODEL/manifest.json.")
    batch_size: int = _help("Sequences per device per micro-batch.", 8)
    grad_accum: int = _help("Micro-batches accumulated per optimiser step.", 1)
    epochs: int = _help("Passes over the (budgeted) data when --max-steps is not given.", 1)
    max_steps: int | None = _help("Stop after this many optimiser steps in total (all stages).")
    warmup_steps: int = _help("Linear warm-up steps of each stage's schedule.", 0)
    schedule: Schedule = _help(
        "Learning-rate decay after warm-up (wsd: constant, then linear to 0 over the last 20%).", "cosine")
    weight_decay: float = _help("AdamW weight decay (never applied in the embeddings stage).", 0.0)
    max_grad_norm: float = _help("Gradient clipping norm (0 disables).", 1.0)
    seed: int = _help("Seed of data order, replay draw, initialisation of adapters and dropout.", 42)
    bf16: bool | None = _help("bfloat16 autocast of the trained model; default on where the hardware computes in "
                              "it (a GPU with bf16, a CPU with AVX512-BF16 or AMX).")
    save_steps: int = _help("Checkpoint every N steps under OUT/checkpoints/ (resume point).", 200)
    log_steps: int = _help("Write a log.jsonl record every N steps.", 10)
    eval_data: tuple[str, ...] = _help("Held-out texts for bits-per-character (needs vocabx.eval.bpc).", ())
    eval_steps: int | None = _help("Evaluate every N steps as well as at the end (needs --eval-data).")
    eval_max_docs: int = _help("Documents of --eval-data used per evaluation.", 64)
    merge: bool = _help("For --method lora: OUT becomes the merged plain model (loads without peft); the adapter goes to OUT/adapter.", False)
    resume: bool = _help("Continue OUT from its last checkpoint (the saved config must match).", False)
    force: bool = _help("Replace an existing OUT.", False)
    keep_checkpoints: bool = _help("Keep OUT/checkpoints/ after a successful run.", False)
    max_chars: int | None = _help(
        "Budget: domain characters read (makes tokenizers comparable); for sft, whole conversations up to it.")
    max_tokens: int | None = _help("Budget: domain tokens trained on per pass; for sft, whole conversations up to it.")

    def __post_init__(self) -> None:
        if not self.model:
            raise UsageError("no model given", hint="pass MODEL: a model directory or smollm2-135m")
        if not self.out:
            raise UsageError("no output directory given", hint="pass --out DIR")
        if not self.data:
            raise UsageError("no training data given", hint="pass --data FILE (repeatable)")
        _choice("method", self.method, METHODS)
        _choice("schedule", self.schedule, SCHEDULES)
        if self.replay_ratio is None:
            self.replay_ratio = 0.2 if self.replay else 0.0
        if not 0.0 <= self.replay_ratio < 1.0:
            raise UsageError(f"replay_ratio must be in [0, 1), got {self.replay_ratio}", hint="e.g. --replay-ratio 0.2")
        if self.replay_ratio > 0 and not self.replay:
            raise UsageError(f"--replay-ratio {self.replay_ratio} without --replay data", hint="add --replay GENERAL")
        for name in ("batch_size", "grad_accum", "epochs", "save_steps", "log_steps", "lora_r"):
            _positive(name, getattr(self, name))
        for name in ("max_steps", "eval_steps", "new_from", "max_chars", "max_tokens"):
            value = getattr(self, name)
            if value is not None:
                _positive(name, value, allow_zero=name == "new_from")
        if self.lora_alpha is None:
            self.lora_alpha = 2 * self.lora_r
        if self.lr is None:
            self.lr = 2e-4 if self.method == "lora" else 3e-5
        if self.eval_steps and not self.eval_data:
            raise UsageError("--eval-steps without --eval-data", hint="add --eval-data HELDOUT")

    def training_fields(self) -> dict[str, Any]:
        """The fields that determine the result; a resumed run must match them exactly."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in OPERATIONAL_FIELDS}


@dataclass(kw_only=True)
class CPTConfig(RunConfig):
    """`vocabx train cpt`: continued pretraining on packed blocks, an embeddings stage, then LoRA or full."""

    block_size: int | None = _help("Tokens per packed training block; default min(1024, model context).")
    embed_steps: int | None = _help(
        "Steps of the embeddings stage (only the new rows train); default 100 when the model has new rows, else 0.")
    embed_lr: float = _help("Learning rate of the embeddings stage.", 1e-3)
    rows_lr: float | None = _help(
        "Learning rate of the new rows in the LoRA or full stage, the body at --lr (as `train distill` trains them); "
        "default: --lr for all.")
    text_field: str | None = text_field_option("--data, --replay and --eval-data")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.rows_lr is not None and self.rows_lr <= 0:
            raise UsageError(f"rows_lr must be > 0, got {self.rows_lr}", hint="e.g. --rows-lr 2e-3")
        if self.block_size is not None:
            _positive("block_size", self.block_size)
        if self.block_size is not None and self.block_size < 2:
            raise UsageError(f"block_size must be >= 2, got {self.block_size}", hint="e.g. --block-size 512")
        if self.embed_steps is not None:
            _positive("embed_steps", self.embed_steps, allow_zero=True)


@dataclass(kw_only=True)
class SFTConfig(RunConfig):
    """`vocabx train sft`: instruction tuning on Alpaca/ShareGPT data, loss on the assistant turns only."""

    max_length: int | None = _help("Longest tokenized conversation; default min(2048, model context).")
    overlong: Literal["truncate", "skip"] = _help("What to do with a longer conversation (counted either way).",
                                                  "truncate")
    system: str | None = _help("System prompt put before every conversation that has none.")

    def __post_init__(self) -> None:
        super().__post_init__()
        _choice("overlong", self.overlong, OVERLONG)
        if self.max_length is not None:
            _positive("max_length", self.max_length)


DISTILL_METHODS = ("rows", "lora", "full")


@dataclass(kw_only=True)
class DistillConfig(RunConfig):
    """`vocabx train distill`: the base model (teacher, base tokenization) teaches the extended model (student) on
    any text. By default every weight trains (`--method full`, the recipe that met the held-out goals);
    `--method rows` trains only the new rows and keeps the body and old rows bit-identical."""

    # Wider than RunConfig's lora/full: __post_init__ shows RunConfig's checks "lora" for "rows", and no code typed
    # RunConfig reads `method` of a distill run.
    method: Literal["rows", "lora", "full"] = _help(  # type: ignore[assignment]
        "rows: only the new input/output rows train (body and old rows stay bit-identical); lora / full: LoRA "
        "adapters / all weights under the same losses (after --rows-steps of rows alone), the new rows at --rows-lr. "
        "full (the default) gave the best held-out figures at 15 CPU-minutes; rows alone stayed +18% on domain "
        "bits/char and emitted 2% new tokens (bench/RESULTS.md).", "full")
    lr: float | None = _help(  # the same default for lora and full: measured for full in bench/bench_adapt.py
        "Peak learning rate of the body (LoRA adapters, or every weight with --method full); default 2e-4. For full "
        "distillation of SmolLM2-135M at 15 CPU-minutes, 2e-4 beat 1e-4 and 5e-5 on domain bits/char and new-token "
        "use; it needs English in --replay to keep English level (bench/RESULTS.md). Larger models may want less.")
    teacher: str | None = _help("Base model the student was extended from; default: the one recorded in MODEL's "
                                "manifest.json by `vocabx extend`.")
    rows_steps: int = _help("Steps of a rows-only stage before the body trains, when --method is lora or full "
                            "(0: none, the new rows train with the body from the start, as every measured run did).",
                            0)
    rows_lr: float = _help("Learning rate of the new rows: in the rows stage, and in the LoRA / full stage (the "
                           "body at --lr).", 2e-3)
    untie: bool = _help("Give the new tokens output rows of their own (unties a tied head; costs vocab x hidden "
                        "parameters).", False)
    block_size: int = _help("Extended tokens per training window (cut where both tokenizations have a boundary).", 256)
    max_minutes: float | None = _help("Budget: stop training after this many minutes of wall time (the model at "
                                      "that point is written; not reproducible, unlike --max-steps). The last "
                                      "stage's --schedule decays over these minutes.")
    schedule: Schedule = _help(
        "Learning-rate decay after warm-up (wsd: constant, then linear to 0 over the last 20%). wsd by default: at 15 "
        "CPU-minutes cosine lost 2-3 points on every Chinese set, wsd was within seed noise of constant on bits/char "
        "over three seeds each (constant kept more new tokens in greedy output: 0.95 of canonical against 0.89), and "
        "at 45 it beat constant (bench/RESULTS.md).", "wsd")
    top_k: int = _help("Teacher tokens kept by name at each position (the rest of their mass is kept as a lump).", 32)
    hidden_layers: str = _help("Hidden states matched at aligned positions: comma-separated layer indices "
                               "(negative from the top, -1 the last); empty: none.", "-1")
    canonical_weight: float = _help("Weight of the canonical cross-entropy (teacher distribution, new tokens taking "
                                    "mass only from the old tokens they extend).", 1.0)
    likelihood_weight: float = _help("Weight of the chunk likelihood matching (student log p of a token vs the "
                                     "teacher's summed log p of the base tokens it covers).", 1.0)
    hidden_weight: float = _help("Weight of the hidden-state matching at aligned positions.", 1.0)
    lm_weight: float = _help("Weight of the plain next-token loss on the extended tokenization (with LoRA at 15 "
                             "CPU-minutes it lowered domain bits/char further and raised greedy new-token use "
                             "from 0.2% to 11%: bench/RESULTS.md).", 1.0)
    temperature: float = _help("Temperature of the likelihood matching (probabilities compared as p^(1/T)).", 1.0)
    teacher_batch_size: int = _help("Windows per teacher forward pass.", 8)
    text_field: str | None = text_field_option("--data, --replay and --eval-data")

    def __post_init__(self) -> None:
        if self.lr is None:
            self.lr = 2e-4
        _choice("method", self.method, DISTILL_METHODS)
        method, self.method = self.method, "lora"  # RunConfig checks lora/full; rows shares lora's defaults
        try:
            super().__post_init__()
        finally:
            self.method = method
        for name in ("block_size", "top_k", "teacher_batch_size"):
            _positive(name, getattr(self, name))
        _positive("rows_steps", self.rows_steps, allow_zero=True)
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise UsageError(f"max_minutes must be > 0, got {self.max_minutes}", hint="e.g. --max-minutes 15")
        if self.temperature <= 0:
            raise UsageError(f"temperature must be > 0, got {self.temperature}", hint="e.g. --temperature 1")
        weights = [self.canonical_weight, self.likelihood_weight, self.hidden_weight, self.lm_weight]
        if any(w < 0 for w in weights) or not any(weights):
            raise UsageError("loss weights must be >= 0 and not all 0",
                             hint="set --canonical-weight, --likelihood-weight, --hidden-weight or --lm-weight")
        self.layers()

    def layers(self) -> list[int]:
        """--hidden-layers as a list of ints."""
        try:
            return [int(x) for x in self.hidden_layers.split(",") if x.strip()]
        except ValueError:
            raise UsageError(f"hidden_layers must be comma-separated integers, got {self.hidden_layers!r}",
                             hint="e.g. --hidden-layers -1 or --hidden-layers 10,-1") from None


@dataclass(kw_only=True)
class MergeConfig:
    """`vocabx train merge`: fold a LoRA adapter into its base model, written as a plain model directory."""

    adapter: str = _help("Adapter directory written by `vocabx train cpt/sft --method lora`.", "")
    out: str = _help("Output model directory.", "")
    base: str | None = _help("Base model; default ADAPTER/base if present, else the adapter's recorded base.")
    force: bool = _help("Replace an existing OUT.", False)

    def __post_init__(self) -> None:
        if not self.adapter or not self.out:
            raise UsageError("merge needs an adapter directory and --out", hint="vocabx train merge ADAPTER --out DIR")


def _choice(name: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise UsageError(f"unknown {name} {value!r}", hint=f"use one of: {', '.join(valid)}")


def _positive(name: str, value: int, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise UsageError(f"{name} must be {bound}, got {value}", hint=f"fix --{name.replace('_', '-')}")
