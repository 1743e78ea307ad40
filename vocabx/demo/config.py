"""`DemoConfig`: what `vocabx demo` runs end to end (corpora, model, budget, training and evaluation bounds) and
where it writes. The defaults are the offline main job: legal-zh against news-zh on the embedded SmolLM2-135M."""

from __future__ import annotations

from dataclasses import dataclass

from vocabx.config import documented as _help
from vocabx.config import text_field_option
from vocabx.errors import UsageError


@dataclass(kw_only=True)
class DemoConfig:
    """`vocabx demo [--corpus C --general G --model M] --out DIR`: analyze, extend, train, eval, bench, report."""

    corpus: tuple[str, ...] = _help("Domain corpus specs (file, dir, glob, hf:org/name, card); repeatable.",
                                    ("legal-zh",))
    general: tuple[str, ...] = _help(
        "General-language corpus specs: the analysis reference, the training replay and the general held-out text.",
        ("news-zh",))
    text_field: str | None = text_field_option("--corpus and --general")
    model: str = _help("Model to extend: a Hugging Face model directory or the built-in smollm2-135m.", "smollm2-135m")
    compare: tuple[str, ...] = _help(
        "Other tokenizers benchmarked for reference ([NAME=]SPEC: built-in name or path); `none` for none.", ("qwen2",))
    out: str = _help("Output directory (refused if it exists, unless --force).", "runs/demo")
    budget: int = _help("New vocabulary entries added to the tokenizer (terms mode from the analysis).", 2000)
    holdout_every: int = _help("Every Nth document of each corpus is held out from analysis and training.", 10)
    max_chars: int | None = _help("Characters read from each corpus before the split (None: all).")
    train: bool = _help("Run the short continued pretraining (off: evaluate the extended model as initialized).", True)
    quick: bool = _help("A quick look (about 2 minutes): no training, and the smaller evaluation.", False)
    distill_steps: int = _help(
        "Steps of `vocabx train distill --method full` (the base model teaches the extended one, with replay) "
        "before continued pretraining; 0 skips it.", 4)
    train_steps: int = _help("Optimiser steps of continued pretraining in all (embeddings stage + LoRA).", 16)
    embed_steps: int | None = _help(
        "Of those, steps that train only the new rows; default 0 after distillation, else a quarter of --train-steps.")
    block_size: int = _help("Tokens per training block (small keeps a CPU run short).", 128)
    batch_size: int = _help("Blocks per optimiser step.", 4)
    lr: float | None = _help("LoRA learning rate; default the one of `vocabx train cpt` (2e-4).")
    replay_ratio: float = _help("Share of training blocks drawn from the general corpus (replay).", 0.2)
    eval_docs: int = _help("Held-out documents scored per corpus.", 16)
    eval_chars: int = _help("Held-out characters scored per corpus.", 3000)
    decode_tokens: int = _help("Tokens generated per prompt for the decoding speed (one thread; 0 skips it).", 32)
    decode_prompts: int = _help("Prompts for the decoding speed.", 2)
    bench_max_chars: int | None = _help("Held-out characters per corpus for the tokenizer benchmark (None: all).",
                                        50_000)
    examples: int = _help("Held-out domain sentences shown tokenized before and after.", 5)
    seed: int = _help("Seed of the training run.", 42)
    force: bool = _help("Replace an existing --out.", False)

    def __post_init__(self) -> None:
        for name in ("corpus", "general", "compare"):
            if isinstance(getattr(self, name), str):  # a config file may give one string
                setattr(self, name, (getattr(self, name),))
            setattr(self, name, tuple(getattr(self, name)))
        self.compare = tuple(spec for spec in self.compare if spec and spec.lower() != "none")
        if not self.corpus:
            raise UsageError("no domain corpus given", hint="pass --corpus SPEC (a file, directory, glob or card name)")
        if not self.general:
            raise UsageError("no general corpus given", hint="pass --general SPEC, e.g. news-zh")
        if not self.model:
            raise UsageError("no model given", hint="pass --model DIR or smollm2-135m")
        for name in ("budget", "train_steps", "block_size", "batch_size", "eval_docs", "eval_chars",
                     "decode_prompts"):
            if getattr(self, name) <= 0:
                default = DemoConfig.__dataclass_fields__[name].default
                raise UsageError(f"{name} must be positive, got {getattr(self, name)}",
                                 hint=f"e.g. --{name.replace('_', '-')} {default}")
        if self.holdout_every < 2:
            raise UsageError(f"holdout_every must be >= 2, got {self.holdout_every}", hint="e.g. --holdout-every 10")
        if self.block_size < 2:
            raise UsageError(f"block_size must be >= 2, got {self.block_size}", hint="e.g. --block-size 128")
        for name in ("decode_tokens", "examples", "distill_steps"):
            if getattr(self, name) < 0:
                raise UsageError(f"{name} must be >= 0, got {getattr(self, name)}", hint="0 skips it")
        for name in ("max_chars", "bench_max_chars"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise UsageError(f"{name} must be positive, got {getattr(self, name)}",
                                 hint=f"drop --{name.replace('_', '-')} for no limit")
        if self.embed_steps is not None and not 0 <= self.embed_steps <= self.train_steps:
            raise UsageError(f"embed_steps must be in [0, train_steps={self.train_steps}], got {self.embed_steps}",
                             hint="e.g. --embed-steps 4")
        if not 0.0 <= self.replay_ratio < 1.0:
            raise UsageError(f"replay_ratio must be in [0, 1), got {self.replay_ratio}", hint="e.g. --replay-ratio 0.2")

    @property
    def trains(self) -> bool:
        """Whether the training stage runs (`--no-train` and `--quick` skip it)."""
        return self.train and not self.quick

    @property
    def distills(self) -> bool:
        """Whether the distillation stage runs (only when the demo trains)."""
        return self.trains and self.distill_steps > 0

    @property
    def resolved_embed_steps(self) -> int:
        """Steps of the embeddings stage: given; else none after distillation (it trained the new rows), or a
        quarter of the run (new rows first, then LoRA)."""
        if self.embed_steps is not None:
            return self.embed_steps
        return 0 if self.distills else self.train_steps // 4
