"""Tiny real artifacts for the model tests: the byte-level BPE they share, 2-layer Llama checkpoints saved as
safetensors (single or sharded, tied or untied, padded or not), and a fake `Extension` built with `add_tokens`.

Plain helpers with no tests: tests/conftest.py builds the `tiny_tok` and `tiny_models` session fixtures from them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from tokenizers import Tokenizer

from tests._builders import train_bpe
from vocabx.adapters import HFTokenizerAdapter
from vocabx.extend.base import Extension, NewEntry

CORPUS = [
    "The patient has a fever and a cough.",
    "Hypertension and diabetes are common chronic diseases.",
    "患者发热咳嗽，血压升高。高血压和糖尿病是常见的慢性病。",
    "Take 5 mg twice a day after meals.",
] * 20
NEW_TERMS = ["高血压", "糖尿病", "hypertension"]


def model_bpe(vocab_size: int = 300) -> Tokenizer:
    """The tiny checkpoints' tokenizer: a byte-level BPE trained on CORPUS, `<|endoftext|>` at id 0."""
    return train_bpe(CORPUS, vocab_size, special_tokens=("<|endoftext|>",))


def make_extension(base_tok: Tokenizer, terms: list[str] = NEW_TERMS) -> Extension:
    """An Extension with `terms` added as tokens (a stand-in for the real extenders)."""
    base = HFTokenizerAdapter(base_tok.to_str(), name="tiny", source="memory")
    ext_tok = Tokenizer.from_str(base_tok.to_str())
    ext_tok.add_tokens(terms)
    extended = HFTokenizerAdapter(ext_tok.to_str(), name="tiny-ext", source="memory")
    added = [NewEntry(token=t, text=t, id=extended.token_to_id(t), kind="term") for t in terms]
    return Extension(base=base, extended=extended, added=added)


def save_tiny_llama(path: Path, vocab: int, *, tied: bool, sharded: bool, dtype: torch.dtype = torch.float32) -> Path:
    """A 2-layer, hidden-16 LlamaForCausalLM with random weights, saved by save_pretrained."""
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=vocab, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
                      tie_word_embeddings=tied, bos_token_id=0, eos_token_id=0)
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg).to(dtype)
    with torch.no_grad():  # non-trivial head rows, so tied/untied mistakes show in the logits
        model.get_input_embeddings().weight.normal_(0, 0.5)
        if not tied:
            model.get_output_embeddings().weight.normal_(0, 0.5)
    model.save_pretrained(str(path), max_shard_size="20KB" if sharded else "5GB")
    return path


def save_tiny_models(root: Path, tok: Tokenizer) -> dict[str, Path]:
    """Checkpoints keyed by layout: single/sharded x tied/untied, plus one padded beyond the tokenizer and a bf16 one;
    each directory holds `tok` as tokenizer.json."""
    vocab = tok.get_vocab_size()
    out = {}
    for sharded in (False, True):
        for tied in (True, False):
            key = f"{'sharded' if sharded else 'single'}-{'tied' if tied else 'untied'}"
            out[key] = save_tiny_llama(root / key, vocab, tied=tied, sharded=sharded)
    out["padded"] = save_tiny_llama(root / "padded", vocab + 10, tied=False, sharded=False)
    out["bf16"] = save_tiny_llama(root / "bf16", vocab, tied=False, sharded=True, dtype=torch.bfloat16)
    for path in out.values():
        (path / "tokenizer.json").write_text(tok.to_str(), encoding="utf-8")
    return out


def tree_hash(path: Path) -> str:
    """A hash of every file under `path` (names and bytes): BASE must never change."""
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(path)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()
