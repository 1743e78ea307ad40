"""`EvalConfig`: what `vocabx eval` measures (model, base, held-out corpora), within which bounds, and where it writes."""

from __future__ import annotations

from dataclasses import dataclass

from vocabx.config import documented as _help
from vocabx.config import text_field_option
from vocabx.errors import UsageError


@dataclass(kw_only=True)
class EvalConfig:
    """`vocabx eval MODEL --domain HELDOUT --general HELDOUT [--base BASE] --out DIR`."""

    model: str = _help("Model directory (an extend or train output, any HF causal LM) or the built-in smollm2-135m.", "")
    domain: tuple[str, ...] = _help("Held-out domain text ([NAME=]SPEC: file, dir, glob, hf:org/name, card); repeatable.", ())
    general: tuple[str, ...] = _help("Held-out general text ([NAME=]SPEC), to see what the domain cost; repeatable.", ())
    base: str | None = _help("The model before (e.g. the un-extended base), or only its tokenizer: compared side by side.")
    out: str | None = _help("Output directory: eval.json, PNG plots, manifest.json (refused if it exists, unless --force).")
    text_field: str | None = text_field_option("--domain and --general")
    max_docs: int = _help("Documents read from each corpus (bounds the work).", 32)
    max_chars: int = _help("Characters read from each corpus (bounds the work; the last document is cut to fit).", 5_000)
    max_length: int = _help("Tokens per scoring window for bits per character (capped at the model's context).", 1024)
    batch_size: int = _help("Windows per forward pass when scoring.", 4)
    decode_tokens: int = _help("New tokens generated greedily per prompt for the decoding speed (0 skips it).", 32)
    decode_prompts: int = _help("Prompts (the openings of the first domain documents) for the decoding speed.", 3)
    prompt_chars: int = _help("Characters of each domain document used as a decoding prompt.", 48)
    new_from: int | None = _help("First id of the new tokens; default: base_vocab_size from MODEL/manifest.json.")
    init_reference: str | None = _help(
        "Model directory holding the new rows as initialized (the `vocabx extend` output); default: found by "
        "following MODEL's manifest back to its extend step.")
    threads: int | None = _help(
        "torch CPU threads while evaluating (default: torch's own); 1 gives steadier timings on a shared machine.")
    top_k: int = _help("Under-trained new tokens listed (the worst first).", 20)
    general_instructions: tuple[str, ...] = _help(
        "Held-out general instructions ([NAME=]SPEC, Alpaca or ShareGPT): bits/char of the answers given the prompts "
        "under the chat template, to see what instruction tuning cost; repeatable.", ())
    domain_instructions: tuple[str, ...] = _help("Held-out domain instructions ([NAME=]SPEC), scored the same way.", ())
    instruction_docs: int = _help("Conversations read from each instruction set.", 32)
    answer_prompts: int = _help(
        "Prompts of the first general instruction set that MODEL and --base answer greedily, side by side (0 skips).", 5)
    answer_tokens: int = _help("Most new tokens of each greedy answer.", 64)
    model_label: str = _help("Name of MODEL in eval.json records (match it to the label in `vocabx bench`).", "model")
    base_label: str = _help("Name of --base in eval.json records.", "base")
    plots: bool = _help("Write PNG plots into --out.", True)
    force: bool = _help("Replace an existing --out.", False)

    def __post_init__(self) -> None:
        if not self.model:
            raise UsageError("no model given", hint="pass MODEL: a model directory or smollm2-135m")
        for name in ("domain", "general", "general_instructions", "domain_instructions"):
            if isinstance(getattr(self, name), str):  # a config file may give one string
                setattr(self, name, (getattr(self, name),))
        if not (self.domain or self.general or self.general_instructions or self.domain_instructions):
            raise UsageError("no held-out text given", hint="pass --domain HELDOUT, --general HELDOUT and/or "
                                                             "--general-instructions HELDOUT")
        if self.answer_prompts < 0:
            raise UsageError(f"answer_prompts must be >= 0, got {self.answer_prompts}", hint="use 0 to skip the answers")
        for name in ("max_docs", "max_chars", "batch_size", "decode_prompts", "prompt_chars", "top_k",
                     "instruction_docs", "answer_tokens"):
            if getattr(self, name) <= 0:
                raise UsageError(f"{name} must be positive, got {getattr(self, name)}",
                                 hint=f"e.g. --{name.replace('_', '-')} {EvalConfig.__dataclass_fields__[name].default}")
        if self.max_length < 2:
            raise UsageError(f"max_length must be >= 2 tokens, got {self.max_length}", hint="e.g. --max-length 1024")
        if self.decode_tokens < 0:
            raise UsageError(f"decode_tokens must be >= 0, got {self.decode_tokens}", hint="use 0 to skip the decoding speed")
        if self.threads is not None and self.threads <= 0:
            raise UsageError(f"threads must be positive, got {self.threads}", hint="e.g. --threads 1, or leave it out")
        if self.new_from is not None and self.new_from <= 0:
            raise UsageError(f"new_from must be a positive token id, got {self.new_from}",
                             hint="pass the base vocabulary size, the first id vocabx extend added")
        if self.model_label == self.base_label:
            raise UsageError(f"model and base share the label {self.model_label!r}", hint="pass a different --base-label")
