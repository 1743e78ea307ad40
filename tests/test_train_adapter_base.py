"""A LoRA run with an embeddings stage keeps no second copy of its base: the adapter references MODEL, and its
trainable-token rows carry the embeddings stage's new rows, so merging it onto MODEL gives the run's own model."""

from __future__ import annotations

import json

import torch
from safetensors.torch import load_file

from vocabx.train import CPTConfig, train_cpt
from vocabx.train.config import MergeConfig
from vocabx.train.merge import merge_adapter


def test_adapter_references_model_and_merges_to_the_runs_model(tmp_path, tiny_model, corpora) -> None:
    out = tmp_path / "run"
    train_cpt(CPTConfig(model=str(tiny_model), data=(str(corpora["domain"]),), out=str(out), block_size=16,
                        batch_size=4, embed_steps=3, max_steps=5, merge=True, lr=1e-2, embed_lr=1e-1, seed=2))
    adapter = out / "adapter"
    assert not (adapter / "base").exists() and not (out / "base").exists()
    recorded = json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
    assert recorded == str(tiny_model.resolve())
    assert [p.name for p in adapter.rglob("*.safetensors")] == ["adapter_model.safetensors"]  # no model copy
    merged = tmp_path / "merged"
    merge_adapter(MergeConfig(adapter=str(adapter), out=str(merged)))
    ours, theirs = load_file(out / "model.safetensors"), load_file(merged / "model.safetensors")
    start = json.loads((tiny_model / "manifest.json").read_text())["counts"]["base_vocab_size"]
    before = load_file(tiny_model / "model.safetensors")["model.embed_tokens.weight"]
    assert not torch.equal(theirs["model.embed_tokens.weight"][start:], before[start:])  # the stage's rows arrived
    for name, tensor in ours.items():
        torch.testing.assert_close(theirs[name], tensor, rtol=0, atol=1e-6, msg=name)
