"""`vocabx export gguf` on a tiny extended Llama: the vocabulary GGUF (tokens, types, merges, pre-tokenizer), the
recorded pre-tokenizer type, the bad inputs (one line, non-zero exit, nothing written), and, where the `gguf`
extra is installed, llama.cpp itself: identical tokenization, new tokens detokenized, greedy generation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests._tiny_llama import DOMAIN, GENERAL, needs_llama_cpp
from tests.conftest_shared import SHARED
from vocabx.cli.main import main
from vocabx.export.vocab import CONTROL, NORMAL, from_directory


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def _leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.startswith(".")]


def test_vocabulary_from_an_extended_directory(tiny_pair) -> None:
    base, model = tiny_pair
    spec = json.loads((model / "tokenizer.json").read_text())
    vocab = from_directory(model, "gpt-2")
    counts = json.loads((model / "manifest.json").read_text())["counts"]
    assert len(vocab.tokens) == counts["extended_vocab_size"] and vocab.model == "gpt2" and vocab.pre == "gpt-2"
    assert vocab.merges == [" ".join(m) if isinstance(m, list) else m for m in spec["model"]["merges"]]
    specials = {t["id"] for t in spec["added_tokens"]}
    assert {vocab.types[i] for i in specials} == {CONTROL}
    assert set(vocab.types[counts["base_vocab_size"]:]) == {NORMAL}  # new entries are ordinary tokens


def _shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data missing: {path} (set VOCABX_SHARED_DATA)")
    return path


def test_extend_records_the_pre_tokenizer_type(tmp_path) -> None:
    from vocabx.adapters import load_tokenizer
    from vocabx.export.pretok import detect_pre

    record = detect_pre(load_tokenizer(str(_shared("tokenizers", "llama2", "tokenizer.model"))))
    assert record["pre"] == "default"
    gguf_vocab = SHARED / "tokenizers" / "gguf" / "ggml-vocab-gpt-2.gguf"
    if gguf_vocab.is_file():
        assert detect_pre(load_tokenizer(str(gguf_vocab)))["pre"] == "gpt-2"


def test_bad_inputs_are_one_line_errors_and_write_nothing(tmp_path, tiny_pair) -> None:
    from safetensors.torch import load_file, save_file

    base, model = tiny_pair
    (tmp_path / "exists.gguf").write_bytes(b"x")
    result = _run("export", "gguf", str(model), "--out", str(tmp_path / "exists.gguf"), "--pre", "gpt-2")
    assert result.exit_code == 1 and "already exists" in result.output and "--force" in result.output
    short = tmp_path / "short"  # the tokenizer of the extension, the rows of the base
    shutil.copytree(model, short)
    shutil.copy(base / "model.safetensors", short / "model.safetensors")
    shutil.copy(base / "config.json", short / "config.json")
    result = _run("export", "gguf", str(short), "--out", str(tmp_path / "a.gguf"), "--pre", "gpt-2")
    assert result.exit_code == 1 and "rows" in result.output and "vocabx extend" in result.output
    quantized = tmp_path / "quantized"
    shutil.copytree(model, quantized)
    tensors = load_file(quantized / "model.safetensors")
    tensors["model.embed_tokens.weight"] = tensors["model.embed_tokens.weight"].to(dtype=__import__("torch").int8)
    save_file(tensors, str(quantized / "model.safetensors"))
    result = _run("export", "gguf", str(quantized), "--out", str(tmp_path / "b.gguf"), "--pre", "gpt-2")
    assert result.exit_code == 1 and "quantized" in result.output
    wordpiece = tmp_path / "wordpiece"
    wordpiece.mkdir()
    shutil.copy(_shared("tokenizers", "bert-zh", "vocab.txt"), wordpiece / "vocab.txt")
    result = _run("export", "gguf", str(wordpiece), "--out", str(tmp_path / "c.gguf"))
    assert result.exit_code == 1 and "wordpiece" in result.output and "cannot represent" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not any((tmp_path / n).exists() for n in ("a.gguf", "b.gguf", "c.gguf"))
    assert (tmp_path / "exists.gguf").read_bytes() == b"x" and _leftovers(tmp_path) == []


def test_a_model_without_a_recorded_pre_tokenizer_asks_for_pre(tmp_path, tiny_pair) -> None:
    """Checked once the converter is found (the missing converter is reported first)."""
    needs_llama_cpp()
    _, model = tiny_pair
    result = _run("export", "gguf", str(model), "--out", str(tmp_path / "d.gguf"))  # no recorded type, no --pre
    assert result.exit_code == 1 and "--pre" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "d.gguf").exists() and _leftovers(tmp_path) == []


def test_outtype_base_needs_an_extension_of_a_gguf(tmp_path, tiny_pair) -> None:
    base, model = tiny_pair
    result = _run("export", "gguf", str(model), "--out", str(tmp_path / "m.gguf"), "--outtype", "base", "--pre", "gpt-2")
    assert result.exit_code == 2 and "not extended from a GGUF" in result.output and "--base-gguf" in result.output
    assert not (tmp_path / "m.gguf").exists()


# -- llama.cpp itself (the `gguf` extra) -------------------------------------------------------------------------


def test_llama_cpp_tokenizes_and_generates_like_transformers(tmp_path, tiny_pair) -> None:
    needs_llama_cpp()
    from vocabx.adapters import load_tokenizer
    from vocabx.export.conformance import detokenize_check, generation_check, tokenization_check
    from vocabx.export.runtime import LlamaRuntime
    from vocabx.extend.probes import PROBE_TEXTS, random_unicode

    base, model = tiny_pair
    assert _run("export", "gguf", str(model), "--out", str(tmp_path / "v.gguf"), "--vocab-only", "--pre", "gpt-2").exit_code == 0
    ext = load_tokenizer(model)
    start = json.loads((model / "manifest.json").read_text())["counts"]["base_vocab_size"]
    runtime = LlamaRuntime(tmp_path / "v.gguf")
    texts = {"domain": DOMAIN, "general": GENERAL, "probes": list(PROBE_TEXTS), "random": random_unicode(200, 1)}
    check = tokenization_check(runtime, ext, texts)
    assert check.passed, check.figures["examples"]
    assert detokenize_check(runtime, ext, list(range(start, ext.vocab_size))).passed
    result = _run("export", "gguf", str(model), "--out", str(tmp_path / "m.gguf"), "--outtype", "f32", "--pre", "gpt-2")
    assert result.exit_code == 0, result.output
    check = generation_check(tmp_path / "m.gguf", model, ext, {"domain": DOMAIN}, n_tokens=6)
    assert check.passed, check.figures["examples"]


def test_verify_runtime_llama_cpp_on_the_cli(tmp_path, tiny_pair) -> None:
    needs_llama_cpp()
    base, model = tiny_pair
    (tmp_path / "d.txt").write_text("\n".join(DOMAIN), encoding="utf-8")
    result = _run("verify", str(base), str(model), "--corpus", str(tmp_path / "d.txt"), "--runtime", "llama.cpp",
                  "--pre", "gpt-2", "--generate-tokens", "4", "--json")
    assert result.exit_code == 0, result.output
    checks = json.loads(result.stdout)["checks"]
    for name in ("serving_ordinary", "serving_skip_special", "llama_cpp_tokenize", "llama_cpp_detokenize",
                 "llama_cpp_generate"):
        assert checks[name]["passed"] is True, (name, checks[name])
