"""Tiny real artifacts for the `vocabx train` tests: a BPE tokenizer trained in-process with a ChatML template,
extended by a few added tokens, and a 2-layer Llama (hidden 16) whose embedding has the extended rows."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

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


def build_tokenizer(texts: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", bos_token="<|endoftext|>",
                                   pad_token="<|endoftext|>")
    fast.chat_template = CHATML
    return fast


def write_tiny_model(root: Path, *, tied: bool = True, extended: bool = True, vocab_rows: int | None = None) -> Path:
    """A saved model dir; `extended` adds NEW_TERMS to the tokenizer and records base_vocab_size in manifest.json."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    texts = sentences(DOMAIN_WORDS, 300, 1, "") + sentences(GENERAL_WORDS, 300, 2, " ")
    tokenizer = build_tokenizer(texts)
    base_size = len(tokenizer)
    if extended:
        tokenizer.add_tokens(NEW_TERMS)
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
    if extended:
        manifest = {"command": "extend", "counts": {"base_vocab_size": base_size, "extended_vocab_size": len(tokenizer)}}
        (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


def write_corpora(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    domain = root / "domain.txt"
    domain.write_text("\n".join(sentences(DOMAIN_WORDS, 400, 3, "")) + "\n", encoding="utf-8")
    general = root / "general.txt"
    general.write_text("\n".join(sentences(GENERAL_WORDS, 400, 4, " ")) + "\n", encoding="utf-8")
    empty = root / "empty.txt"
    empty.write_text("\n\n  \n", encoding="utf-8")
    return {"domain": domain, "general": general, "empty": empty}


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def corpora(tmp_path_factory) -> dict[str, Path]:
    return write_corpora(tmp_path_factory.mktemp("corpora"))
