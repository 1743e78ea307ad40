"""Loading what a run starts from: the model directory (or the built-in `smollm2-135m`), its tokenizer, the
new-row range, the context length, and the optional bits-per-character evaluation hook."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from vocabx.errors import ModelError, first_line
from vocabx.progress import step
from vocabx.quiet import quiet_loading
from vocabx.train.config import RunConfig
from vocabx.train.newrows import check_vocab_fits, new_row_start

if TYPE_CHECKING:
    from transformers import PreTrainedModel

log = logging.getLogger(__name__)


@dataclass
class Loaded:
    """The model a run trains, its tokenizer, where its new rows start (None: no new rows) and its context."""

    model_dir: Path
    model: PreTrainedModel
    tokenizer: Any
    new_start: int | None
    context: int


def resolve_model_dir(spec: str) -> Path:
    """A local model directory, or a built-in name resolved by `vocabx.model.api.resolve_model` when present."""
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(f"{path} has no config.json", hint="pass a Hugging Face model directory")
        return path.resolve()
    try:
        api = importlib.import_module("vocabx.model.api")
    except ModuleNotFoundError:
        api = None
    if api is not None and api.is_model(spec):
        return Path(api.resolve_model(spec))
    raise ModelError(f"model {spec!r} is neither a directory nor a built-in model",
                     hint="pass a model directory (e.g. the --out of `vocabx extend`) or smollm2-135m")


def load_for_training(cfg: RunConfig, progress: bool = False) -> Loaded:
    """Load the model in float32 (bf16 is autocast by the Trainer where supported) and check its vocabulary."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from vocabx.model.checkpoint import check_weight_files

    with step(f"loading model {cfg.model}", progress):
        model_dir = resolve_model_dir(cfg.model)
        check_weight_files(model_dir)  # a truncated or corrupt file: a clear error, not the loader's traceback
        try:
            tokenizer = AutoTokenizer.from_pretrained(model_dir)
            with quiet_loading():
                model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        except Exception as exc:  # any loader failure (OSError, ValueError, SafetensorError, ...) is the user's file
            raise ModelError(f"cannot load {model_dir}: {type(exc).__name__}: {first_line(exc)}",
                             hint="check that it holds config.json, weights and tokenizer files") from exc
    rows = check_vocab_fits(model, len(tokenizer), model_dir)
    start = new_row_start(model_dir, rows, cfg.new_from)
    context = int(getattr(model.config, "max_position_embeddings", 0) or 2048)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    log.info("model %s: %d rows, new rows from %s, context %d", model_dir, rows, start, context)
    return Loaded(model_dir, model, tokenizer, start, context)


def bpc_hook(texts: list[str], tokenizer: Any) -> Callable[[torch.nn.Module], dict[str, float]]:
    """An evaluation callable: bits per character of the model on held-out `texts` (`vocabx.eval.bpc`)."""
    from vocabx.eval.bpc import bits_per_character

    start_id = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id

    def encode(text: str) -> list[int]:
        return tokenizer.encode(text, add_special_tokens=False)

    def evaluate(model: torch.nn.Module) -> dict[str, float]:
        was_training = model.training
        model.eval()
        try:
            result = bits_per_character(model, encode, texts, start_id=start_id)
        finally:
            model.train(was_training)
        return {"eval_bpc": result.bpc, "eval_chars_per_token": result.chars_per_token}

    return evaluate


@dataclass
class RunStart:
    """How every `train` command begins: the process state, the clock, and the model."""

    state: Any
    started: float
    loaded: Loaded


def start_run(cfg: RunConfig, command: str, progress: bool = False) -> RunStart | dict[str, Any]:
    """Join the distributed state; for a run that had already finished (`--resume` after a kill that landed once
    its manifest was written) return its recorded result as is; else start the clock, seed, and load the model."""
    import time

    from vocabx.train.engine import distributed_state
    from vocabx.train.rundir import finished_run

    state = distributed_state()
    finished = finished_run(cfg, command, tidy=state.is_main_process)
    if finished is not None:
        return finished
    started = time.perf_counter()
    torch.manual_seed(cfg.seed)
    return RunStart(state, started, load_for_training(cfg, progress and state.is_main_process))
