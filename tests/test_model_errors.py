"""Bad input to the model side: a clear VocabxError with a hint, nothing half-written, BASE never touched."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from tests._checkpoints import make_extension, tree_hash
from tests.conftest_shared import SHARED
from vocabx.errors import ModelError, OutputError, UsageError
from vocabx.model import extend_model, is_model
from vocabx.model.checkpoint import read_checkpoint


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_directory_without_weights(tiny_models, tiny_tok, tmp_path):
    base = _copy(tiny_models["single-tied"], tmp_path / "base")
    (base / "model.safetensors").unlink()
    assert is_model(base)  # config.json names an architecture: a model, with its weights missing
    with pytest.raises(ModelError, match="holds no weights") as err:
        extend_model(base, make_extension(tiny_tok), tmp_path / "out")
    assert "save_pretrained" in err.value.hint


def test_directory_without_config(tiny_models, tiny_tok, tmp_path):
    base = _copy(tiny_models["single-tied"], tmp_path / "base")
    (base / "config.json").unlink()
    with pytest.raises(ModelError, match="no config.json"):
        extend_model(base, make_extension(tiny_tok), tmp_path / "out")


def test_tokenizer_larger_than_the_matrix(tiny_models, tiny_tok, tmp_path):
    from tests._checkpoints import model_bpe

    bigger = model_bpe(vocab_size=400)
    assert bigger.get_vocab_size() > tiny_tok.get_vocab_size()
    with pytest.raises(ModelError, match="has only .* rows") as err:
        extend_model(tiny_models["single-tied"], make_extension(bigger), tmp_path / "out")
    assert "does not belong to this model" in err.value.hint


def test_quantized_embedding_is_refused(tiny_models, tiny_tok, tmp_path):
    base = _copy(tiny_models["single-tied"], tmp_path / "base")
    ckpt = read_checkpoint(base)
    rows, hidden = ckpt.rows, ckpt.hidden
    save_file({ckpt.input_name: torch.zeros(rows, hidden, dtype=torch.int8),
               "model.embed_tokens.scales": torch.ones(rows, dtype=torch.float16)}, str(base / "model.safetensors"))
    config = json.loads((base / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "gptq", "bits": 8}
    (base / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match=r"quantized \(dtype I8.*gptq") as err:
        extend_model(base, make_extension(tiny_tok), tmp_path / "out")
    assert "unquantized" in err.value.hint


def test_unknown_init_lists_methods(tiny_models, tiny_tok, tmp_path):
    with pytest.raises(UsageError, match="'avg'") as err:
        extend_model(tiny_models["single-tied"], make_extension(tiny_tok), tmp_path / "out", init="avg")
    assert "subword-mean" in err.value.hint
    assert not (tmp_path / "out").exists()


def test_output_with_model_files_is_refused(tiny_models, tiny_tok, tmp_path):
    out = _copy(tiny_models["single-tied"], tmp_path / "out")
    with pytest.raises(OutputError, match="already holds model files"):
        extend_model(tiny_models["single-tied"], make_extension(tiny_tok), out)
    with pytest.raises(OutputError, match="inside the model"):
        extend_model(tiny_models["single-tied"], make_extension(tiny_tok), tiny_models["single-tied"] / "sub")


def test_no_disk_space_before_writing(tiny_models, tiny_tok, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**6, 10**6 - 10, 10))
    with pytest.raises(OutputError, match="not enough disk space"):
        extend_model(tiny_models["single-tied"], make_extension(tiny_tok), tmp_path / "out")
    assert not any((tmp_path / "out").glob("*.safetensors"))


def test_no_disk_space_midway(tiny_models, tiny_tok, tmp_path, monkeypatch):
    """ENOSPC while a shard is written: an OutputError naming the disk; BASE untouched."""
    from vocabx.model import surgery

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    base = tiny_models["sharded-untied"]
    before = tree_hash(base)
    monkeypatch.setattr(surgery, "_write_all", full)
    with pytest.raises(OutputError, match="no space left") as err:
        extend_model(base, make_extension(tiny_tok), tmp_path / "out")
    assert "free at least" in err.value.hint
    assert tree_hash(base) == before
    assert not (tmp_path / "out").exists()  # what the call wrote is gone


def test_is_model():
    assert is_model("smollm2-135m")
    assert not is_model("smollm2")  # the tokenizer alone
    assert not is_model("/nonexistent/dir")
    vocab_only = SHARED / "tokenizers" / "gguf" / "ggml-vocab-gpt-2.gguf"
    if vocab_only.is_file():
        assert not is_model(vocab_only)  # vocabulary-only GGUF: no tensors
