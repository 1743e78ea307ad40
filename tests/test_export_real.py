"""llama.cpp conformance on real vocabularies and the real SmolLM2: each family extended by vocabx tokenizes in
llama.cpp exactly as transformers does on held-out text and random Unicode; the extended SmolLM2 exported both
ways generates greedily as transformers does (f32) or keeps the base GGUF's bytes (GGUF in, GGUF out); its
patch rebuilds it bit for bit. Needs the `gguf` extra and the shared data; slow."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests._tiny_llama import needs_llama_cpp
from tests.conftest_shared import SHARED

pytestmark = pytest.mark.slow

TERMS = ["患者要认为自己是可以战胜病魔",  # first, inside the budget: 42 bytes, where llama-cpp-python's own detokenize stops at 32
         "高血压", "糖尿病", "胰岛素", "心电图", "抗生素", "冠心病", "甲状腺", "白细胞", "血小板", "支气管炎",
         "慢性胃炎", "布洛芬", "阿莫西林", "头孢", "hypertension", "diabetes"]


def _held_out() -> dict[str, list[str]]:
    from vocabx.extend.api import read_corpus
    from vocabx.extend.probes import PROBE_TEXTS, random_unicode

    medical = SHARED / "corpora" / "medical-zh" / "medical_corpus.txt"
    wiki = SHARED / "corpora" / "general-en" / "wiki_demo.txt"
    if not medical.is_file() or not wiki.is_file():
        pytest.skip(f"shared data missing under {SHARED} (set VOCABX_SHARED_DATA)")
    return {"medical": read_corpus([str(medical)])[:120], "wiki": read_corpus([str(wiki)])[:20],
            "probes": list(PROBE_TEXTS), "random": random_unicode(150, 3)}


def _llama3_style(root: Path) -> str:
    """GPT-2's vocabulary behind Llama-3's split regex (llama.cpp's `llama-bpe`), from llama.cpp's vocab GGUF."""
    from tokenizers import Regex, Tokenizer, pre_tokenizers

    from vocabx.adapters import load_tokenizer

    gpt2 = SHARED / "tokenizers" / "gguf" / "ggml-vocab-gpt-2.gguf"
    if not gpt2.is_file():
        pytest.skip(f"shared data missing: {gpt2}")
    split = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
             r"\s*[\r\n]+|\s+(?!\S)|\s+")
    tok = Tokenizer.from_str(load_tokenizer(str(gpt2)).json_text)
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(split), behavior="isolated"),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    root.mkdir(parents=True)
    tok.save(str(root / "tokenizer.json"))
    return str(root)


FAMILIES = {"smollm2": None, "qwen2": None, "deepseek-v3": None, "llama3-style": "llama-bpe",
            "llama2": None, "mistral-v3": None}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_extended_vocabularies_tokenize_identically_in_llama_cpp(tmp_path, family) -> None:
    needs_llama_cpp()
    from vocabx.adapters import load_tokenizer
    from vocabx.errors import TokenizerError
    from vocabx.export.config import GGUFExportConfig
    from vocabx.export.conformance import detokenize_check, tokenization_check
    from vocabx.export.pretok import detect_pre
    from vocabx.export.runtime import LlamaRuntime
    from vocabx.export.to_gguf import directory_tokenizer, export_gguf
    from vocabx.extend.registry import get_extender

    texts = _held_out()
    spec = {"llama3-style": lambda: _llama3_style(tmp_path / "base"),
            "llama2": lambda: str(SHARED / "tokenizers" / "llama2" / "tokenizer.model")}.get(family, lambda: family)()
    try:
        base = load_tokenizer(spec)
    except TokenizerError as exc:  # a built-in tokenizer's package is missing: skip with the reason
        pytest.skip(str(exc))
    # The extender and its files, without extend's own checks (test_extend_* cover those; this is about llama.cpp).
    extender = get_extender(base.family, "terms")
    extension = extender.extend(base, TERMS, 40)
    extender.save(extension, tmp_path / "ext")
    pre = FAMILIES[family] or detect_pre(base)["pre"]
    export_gguf(GGUFExportConfig(model=str(tmp_path / "ext"), out=str(tmp_path / "v.gguf"), vocab_only=True, pre=pre))
    extended = directory_tokenizer(tmp_path / "ext")
    runtime = LlamaRuntime(tmp_path / "v.gguf")
    check = tokenization_check(runtime, extended, texts)
    assert check.passed, check.figures["examples"]
    new_ids = [e.id for e in extension.added]
    assert len(new_ids) >= len(TERMS) // 2
    detok = detokenize_check(runtime, extended, new_ids)
    assert detok.passed, detok.figures["examples"]


@pytest.fixture(scope="module")
def smollm2_extended(tmp_path_factory) -> Path:
    pytest.importorskip("gguf")
    from vocabx.errors import ModelError
    from vocabx.extend.api import ExtendConfig, extend

    root = tmp_path_factory.mktemp("smollm2-export")
    (root / "terms.txt").write_text("\n".join(TERMS) + "\n", encoding="utf-8")
    try:
        extend(ExtendConfig(base="smollm2-135m", out=str(root / "model"), terms=str(root / "terms.txt"), budget=40,
                            check_docs=50))
    except ModelError as exc:
        pytest.skip(str(exc))
    return root / "model"


@pytest.mark.model
def test_smollm2_both_routes_and_its_patch(tmp_path, smollm2_extended) -> None:
    needs_llama_cpp()
    import gguf

    from vocabx.adapters import load_tokenizer
    from vocabx.adapters.builtin import builtin_path
    from vocabx.export.apply import apply_patch
    from vocabx.export.config import ApplyConfig, GGUFExportConfig, PatchExportConfig
    from vocabx.export.conformance import generation_check, tokenization_check
    from vocabx.export.patch import export_patch
    from vocabx.export.runtime import LlamaRuntime
    from vocabx.export.to_gguf import export_gguf
    from vocabx.extend.api import ExtendConfig, extend
    from vocabx.outputs import file_sha256

    model = smollm2_extended
    assert json.loads((model / "manifest.json").read_text())["llama_cpp"]["pre"] == "smollm"  # recorded at extend
    texts, ext = _held_out(), load_tokenizer(model)
    # GGUF in, GGUF out: the base GGUF's bytes for every old row, no conversion of the model.
    export_gguf(GGUFExportConfig(model=str(model), out=str(tmp_path / "q.gguf"), outtype="base"))
    old = {t.name: t for t in gguf.GGUFReader(str(builtin_path("smollm2"))).tensors}
    new = {t.name: t for t in gguf.GGUFReader(str(tmp_path / "q.gguf")).tensors}
    assert set(new) == set(old)
    emb = "token_embd.weight"
    assert np.array_equal(np.asarray(new[emb].data)[: old[emb].data.shape[0]], np.asarray(old[emb].data))
    assert all(np.array_equal(np.asarray(new[n].data), np.asarray(old[n].data)) for n in list(old)[:20] if n != emb)
    assert tokenization_check(LlamaRuntime(tmp_path / "q.gguf"), ext, texts).passed
    # GGUF in, GGUF out from a tokenizer-only extension: rows initialized from the GGUF's own embedding, the same
    # bytes as through the model's (float32) rows.
    (tmp_path / "terms.txt").write_text("\n".join(TERMS) + "\n", encoding="utf-8")
    extend(ExtendConfig(base="smollm2", out=str(tmp_path / "tok"), terms=str(tmp_path / "terms.txt"), budget=40,
                        check_docs=50))
    export_gguf(GGUFExportConfig(model=str(tmp_path / "tok"), out=str(tmp_path / "t.gguf"), outtype="base"))
    direct = {t.name: t for t in gguf.GGUFReader(str(tmp_path / "t.gguf")).tensors}
    assert np.array_equal(np.asarray(direct[emb].data), np.asarray(new[emb].data))
    # llama.cpp's converter, told the pre-tokenizer: f32 greedy generation equals transformers'.
    export_gguf(GGUFExportConfig(model=str(model), out=str(tmp_path / "f32.gguf"), outtype="f32"))
    prompts = {"medical": texts["medical"][:2], "wiki": texts["wiki"][:1]}
    check = generation_check(tmp_path / "f32.gguf", model, ext, prompts, n_tokens=8)
    assert check.passed, check.figures["examples"]
    # The patch: rows and tokenizer difference only, rebuilding the model bit for bit.
    sizes = export_patch(PatchExportConfig(model=str(model), out=str(tmp_path / "patch")))
    assert sizes["patch_bytes"] < sizes["model_bytes"] / 50
    apply_patch(ApplyConfig(patch=str(tmp_path / "patch"), base="smollm2-135m", out=str(tmp_path / "rebuilt")))
    for path in model.iterdir():
        assert file_sha256(path) == file_sha256(tmp_path / "rebuilt" / path.name), path.name
