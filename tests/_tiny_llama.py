"""Tiny real artifacts for the train, eval, export and demo tests: a byte-level BPE with a ChatML template, a 2-layer
Llama (hidden 16) saved with it (extended by a few added tokens, or for real by `vocabx extend`), the word lists
and corpora they are drawn from, SFT files, and the skip for the optional llama.cpp runtime.

Plain helpers with no tests: tests/conftest.py builds the `tiny_model`, `corpora`, `sft_files` and `tiny_pair*`
session fixtures from them.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests._builders import train_bpe

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
NEW_TERMS = ["高血压", "糖尿病", "胰岛素", "心电图", "抗生素", "hypertension"]
DOMAIN_WORDS = ["患者", "医生", "血压", "治疗", "药物", "检查", "症状", "高血压", "糖尿病", "胰岛素", "心电图", "抗生素"]
GENERAL_WORDS = ["the", "city", "river", "music", "game", "team", "news", "market", "weather", "school"]


def sentences(words: list[str], n: int, seed: int, sep: str) -> list[str]:
    rng = random.Random(seed)
    return [sep.join(rng.choice(words) for _ in range(rng.randint(6, 14))) for _ in range(n)]


# The export tests' domain and general text: drawn from the same words with other seeds.
DOMAIN = sentences(DOMAIN_WORDS, 60, 11, "")
GENERAL = sentences(GENERAL_WORDS, 60, 12, " ")


def build_tokenizer(texts: list[str]):
    """A 400-entry byte-level BPE on `texts` as a transformers tokenizer with the ChatML specials and template."""
    from transformers import PreTrainedTokenizerFast

    tok = train_bpe(texts, 400, special_tokens=("<|endoftext|>", "<|im_start|>", "<|im_end|>"))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", bos_token="<|endoftext|>",
                                   pad_token="<|endoftext|>")
    fast.chat_template = CHATML
    return fast


def save_llama(root: Path, tokenizer, *, tied: bool = True, vocab_rows: int | None = None) -> Path:
    """A 2-layer, hidden-16 Llama sized to `tokenizer` (or to `vocab_rows`), saved with it under `root`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=vocab_rows or len(tokenizer), hidden_size=16, intermediate_size=32,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=128, tie_word_embeddings=tied,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    root.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(root)
    tokenizer.save_pretrained(root)
    return root


def write_tiny_model(root: Path, *, tied: bool = True, extended: bool = True, vocab_rows: int | None = None) -> Path:
    """A saved model dir; `extended` adds NEW_TERMS to the tokenizer and records base_vocab_size in manifest.json."""
    texts = sentences(DOMAIN_WORDS, 300, 1, "") + sentences(GENERAL_WORDS, 300, 2, " ")
    tokenizer = build_tokenizer(texts)
    base_size = len(tokenizer)
    if extended:
        tokenizer.add_tokens(NEW_TERMS)
    save_llama(root, tokenizer, tied=tied, vocab_rows=vocab_rows)
    if extended:
        manifest = {"command": "extend", "counts": {"base_vocab_size": base_size, "extended_vocab_size": len(tokenizer)}}
        (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


def write_base_model(root: Path) -> Path:
    """A 2-layer Llama (hidden 16) whose BPE knew the domain's characters one at a time, never its words, so
    the demo has terms to mine (the shared tiny model's BPE already merges every domain word)."""
    chars = sorted({ch for word in DOMAIN_WORDS for ch in word})
    tokenizer = build_tokenizer(sentences(GENERAL_WORDS, 300, 2, " ") + [" ".join(chars)] * 50)
    return save_llama(root, tokenizer)


def write_corpora(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    domain = root / "domain.txt"
    domain.write_text("\n".join(sentences(DOMAIN_WORDS, 400, 3, "")) + "\n", encoding="utf-8")
    general = root / "general.txt"
    general.write_text("\n".join(sentences(GENERAL_WORDS, 400, 4, " ")) + "\n", encoding="utf-8")
    empty = root / "empty.txt"
    empty.write_text("\n\n  \n", encoding="utf-8")
    return {"domain": domain, "general": general, "empty": empty}


def write_sft_files(root: Path) -> dict[str, Path]:
    """Alpaca records on NEW_TERMS, ShareGPT general chat for replay, and a file with no instruction field."""
    alpaca = [{"instruction": f"患者 {w} 血压", "input": "", "output": f"治疗 {w} 药物"} for w in NEW_TERMS * 3]
    (root / "alpaca.json").write_text(json.dumps(alpaca, ensure_ascii=False), encoding="utf-8")
    share = [{"conversations": [{"from": "human", "value": f"the city {i}"}, {"from": "gpt", "value": "music team"}]}
             for i in range(12)]
    (root / "general.jsonl").write_text("\n".join(json.dumps(r) for r in share), encoding="utf-8")
    (root / "bad.json").write_text(json.dumps([{"text": "no instruction here"}]), encoding="utf-8")
    return {k: root / f"{k}.{ext}" for k, ext in (("alpaca", "json"), ("general", "jsonl"), ("bad", "json"))}


def write_extended(root: Path, *, tied: bool = True, budget: int = 12) -> tuple[Path, Path]:
    """(base model dir, its `vocabx extend` output with up to `budget` new entries and grown rows)."""
    from vocabx.extend.api import ExtendConfig, extend

    base = write_tiny_model(root / "base", tied=tied, extended=False)
    (root / "terms.txt").write_text("\n".join(NEW_TERMS) + "\n", encoding="utf-8")
    (root / "domain.txt").write_text("\n".join(DOMAIN) + "\n", encoding="utf-8")
    out = root / "extended"
    extend(ExtendConfig(base=str(base), out=str(out), terms=str(root / "terms.txt"), budget=budget,
                        corpus=(str(root / "domain.txt"),), init="subword-mean" if tied else "subword-last",
                        init_output=None if tied else "subword-first"))
    return base, out


def needs_llama_cpp() -> None:
    """Skip with the reason when the `gguf` extra (llama-cpp-python) or llama.cpp's converter is absent."""
    from vocabx.errors import MissingDependencyError
    from vocabx.export.converter import find_converter
    from vocabx.export.runtime import llama_cpp_available

    if not llama_cpp_available():
        pytest.skip("llama-cpp-python is not installed (the vocabx[gguf] extra; `make install-gguf` builds it)")
    try:
        find_converter()
    except MissingDependencyError:
        pytest.skip("llama.cpp's converter is not unpacked (`make install-gguf` does it, or set VOCABX_LLAMA_CPP)")
