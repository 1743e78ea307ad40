"""`train_sft` and `merge_adapter` on the tiny Llama: assistant-only loss runs, the merged model loads without peft
and keeps the extended vocabulary, and the real Alpaca/ShareGPT samples encode."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from tests.conftest_shared import SHARED
from vocabx.errors import CorpusError, ModelError
from vocabx.train import MergeConfig, SFTConfig, merge_adapter, train_sft


def test_sft_lora_with_merge_loads_without_peft(tmp_path, tiny_model, sft_files) -> None:
    out = tmp_path / "sft"
    result = train_sft(SFTConfig(model=str(tiny_model), data=(str(sft_files["alpaca"]),),
                                 replay=(str(sft_files["general"]),), replay_ratio=0.25, out=str(out),
                                 batch_size=4, max_steps=3, log_steps=1, merge=True, lr=1e-2))
    assert result["steps"] == 3 and result["examples"] == 12 and result["replay_share"] == 0.25
    assert (out / "adapter" / "adapter_config.json").is_file() and (out / "model.safetensors").is_file()
    # Load the merged model in a fresh interpreter where importing peft fails.
    code = ("import sys; sys.modules['peft'] = None\n"
            "from transformers import AutoModelForCausalLM, AutoTokenizer\n"
            f"m = AutoModelForCausalLM.from_pretrained({str(out)!r}); t = AutoTokenizer.from_pretrained({str(out)!r})\n"
            "assert m.get_input_embeddings().weight.shape[0] == len(t); print(len(t))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    from transformers import AutoTokenizer

    assert int(proc.stdout.split()[-1]) == len(AutoTokenizer.from_pretrained(tiny_model))


def test_merge_command_equals_in_run_merge_and_keeps_old_rows(tmp_path, tiny_model, sft_files) -> None:
    from safetensors.torch import load_file

    out = tmp_path / "adapter"
    train_sft(SFTConfig(model=str(tiny_model), data=(str(sft_files["alpaca"]),), out=str(out), batch_size=4,
                        max_steps=2, lr=1e-2))
    merged = tmp_path / "merged"
    counts = merge_adapter(MergeConfig(adapter=str(out), out=str(merged)))
    start = json.loads((tiny_model / "manifest.json").read_text())["counts"]["base_vocab_size"]
    base, new = load_file(tiny_model / "model.safetensors"), load_file(merged / "model.safetensors")
    emb = "model.embed_tokens.weight"
    assert counts["embedding_rows"] == base[emb].shape[0]
    assert torch.equal(new[emb][:start], base[emb][:start])  # old rows untouched by the token deltas
    assert not torch.equal(new[emb][start:], base[emb][start:])  # new rows trained
    assert not torch.equal(new["model.layers.0.self_attn.q_proj.weight"], base["model.layers.0.self_attn.q_proj.weight"])
    assert json.loads((merged / "manifest.json").read_text())["command"] == "train merge"


def test_sft_bad_inputs(tmp_path, tiny_model, sft_files) -> None:
    with pytest.raises(CorpusError, match="no usable conversation"):
        train_sft(SFTConfig(model=str(tiny_model), data=(str(sft_files["bad"]),), out=str(tmp_path / "o")))
    with pytest.raises(ModelError, match="not a LoRA adapter"):
        merge_adapter(MergeConfig(adapter=str(tiny_model), out=str(tmp_path / "m")))
    assert not (tmp_path / "o").exists() and not (tmp_path / "m").exists()


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "sft").is_dir(), reason="shared SFT samples not available")
def test_real_alpaca_and_sharegpt_samples_encode(tiny_model) -> None:
    from transformers import AutoTokenizer

    from vocabx.train.sft_data import encode_all, read_records

    tok = AutoTokenizer.from_pretrained(tiny_model)
    for name in ("alpaca_zh_demo.json", "alpaca_en_demo.json", "medical_sft_1K_format.jsonl"):
        samples = encode_all(list(read_records([str(SHARED / "sft" / name)]))[:200], tok, 10**6, "skip")  # the tiny BPE spends many tokens per Han character
        assert len(samples) == 200 and not any(k.startswith("skipped") for k in samples.counts), samples.counts
        assert all(any(x != -100 for x in lab) for lab in samples.labels)
