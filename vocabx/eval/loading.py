"""Loading what `vocabx eval` measures: a causal LM with its tokenizer, context and new-token range (`EvalModel`),
or, for a base given as a tokenizer only, just that tokenizer (`TokenizerOnly`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from vocabx.errors import ModelError, TokenizerError, VocabxError, require
from vocabx.progress import step
from vocabx.quiet import quiet_loading

if TYPE_CHECKING:
    from transformers import PreTrainedModel

log = logging.getLogger(__name__)

DEFAULT_CONTEXT = 2048  # for a config without max_position_embeddings (rare); what most small LMs were trained at
WEIGHT_GLOBS = ("*.safetensors", "pytorch_model*.bin", "model.safetensors.index.json")


@dataclass
class EvalModel:
    """A loaded model: `encode` adds no special tokens; scoring and prompts start after `start_id`."""

    label: str
    spec: str
    path: Path
    model: PreTrainedModel
    tokenizer: Any  # a transformers tokenizer
    rows: int  # rows of the input embedding
    context: int  # max_position_embeddings
    start_id: int
    new_start: int | None  # first new token id; None: no new tokens known

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)


@dataclass
class TokenizerOnly:
    """A base given as a tokenizer: it has chars/token (and so context gain), but no bits per character."""

    label: str
    spec: str
    adapter: Any  # a vocabx TokenizerAdapter

    def encode(self, text: str) -> list[int]:
        return self.adapter.encode(text)


def load_eval_model(spec: str, label: str, new_from: int | None = None, progress: bool = False) -> EvalModel:
    """Load MODEL in float32 for inference; refuse a directory without weights or a tokenizer larger than the rows."""
    from vocabx.train.newrows import check_vocab_fits, new_row_start

    with step(f"loading {label} ({spec})", progress):  # the built-in model is converted on its first use
        tokenizer, model, path = _load(spec)
    model.eval()
    rows = check_vocab_fits(model, len(tokenizer), path)
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    if start is None:
        raise ModelError(f"{path}: the tokenizer has neither a BOS nor an EOS token to start texts with",
                         hint="set bos_token or eos_token in tokenizer_config.json")
    context = int(getattr(model.config, "max_position_embeddings", 0) or DEFAULT_CONTEXT)
    from vocabx.eval.newrows import recorded_new_start

    new_start = new_row_start(path, rows, new_from if new_from is not None else recorded_new_start(path))
    if new_start is not None and new_start >= len(tokenizer):
        new_start = None  # only padding rows beyond the tokenizer: no new tokens to measure
    log.info("%s: %s, %d rows, context %d, new tokens from %s", label, path, rows, context, new_start)
    return EvalModel(label, spec, path, model, tokenizer, rows, context, int(start), new_start)


def _load(spec: str) -> tuple[Any, PreTrainedModel, Path]:
    """(tokenizer, model, directory) of SPEC; a directory without weights is refused, any loader failure names it."""
    from transformers import AutoTokenizer

    from vocabx.train.loading import resolve_model_dir

    given = Path(spec).expanduser()
    path = given.resolve() if (given / "adapter_config.json").is_file() else resolve_model_dir(spec)
    if not any(next(path.glob(g), None) for g in WEIGHT_GLOBS):
        raise ModelError(f"{path} holds no model weights (no *.safetensors or pytorch_model*.bin)",
                         hint="pass a model directory, e.g. the --out of `vocabx extend BASE_MODEL ...` with weights")
    try:
        return AutoTokenizer.from_pretrained(str(path)), _load_weights(path), path
    except VocabxError:
        raise
    except Exception as exc:  # transformers/safetensors/peft fail in their own ways: one line naming the model
        first = next(iter(str(exc).splitlines()), "")[:200]
        raise ModelError(f"cannot load {path} as a causal LM with its tokenizer ({type(exc).__name__}: {first})",
                         hint="check that it holds config.json, weights and tokenizer files") from exc


def _load_weights(path: Path) -> PreTrainedModel:
    """A plain causal LM; a LoRA output (adapter_config.json) is loaded onto its base and merged, so that the
    embedding rows read below are the trained ones (peft keeps trained token rows apart until merged)."""
    from transformers import AutoModelForCausalLM

    with quiet_loading():
        if not (path / "adapter_config.json").is_file():
            return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
        peft = require("peft", "evaluating a LoRA adapter directory")
        model = peft.AutoPeftModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    return model.merge_and_unload()


def load_base(spec: str, label: str, progress: bool = False) -> EvalModel | TokenizerOnly:
    """--base: a model when SPEC holds weights (or is the built-in model), else a tokenizer."""
    from vocabx.model.api import is_model

    if is_model(spec):
        return load_eval_model(spec, label, progress=progress)
    from vocabx.adapters import load_tokenizer

    try:
        with step(f"loading {label} tokenizer ({spec})", progress):
            return TokenizerOnly(label, spec, load_tokenizer(spec))
    except VocabxError as exc:
        raise TokenizerError(f"base {spec!r} is neither a model nor a tokenizer vocabx can load: {exc.message}",
                             hint=exc.hint or "pass a model directory, a tokenizer file or a built-in name") from exc
