"""Checkpoint surgery on tiny Llama checkpoints: old rows bit-identical, logits unchanged on unchanged text,
config and head updated, tied/untied/sharded/padded layouts, BASE never touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from tests._checkpoints import make_extension, tree_hash
from vocabx.model import extend_model
from vocabx.model.checkpoint import read_checkpoint
from vocabx.model.surgery import read_tensor


def _extend(base: Path, ext, out: Path, **kw) -> dict:
    out.mkdir()
    (out / "tokenizer.json").write_text(ext.extended.json_text, encoding="utf-8")
    return extend_model(base, ext, out, **kw)


@pytest.mark.parametrize("layout", ["single-tied", "single-untied", "sharded-tied", "sharded-untied", "bf16"])
def test_surgery_invariants(tiny_models, tiny_tok, tmp_path, layout):
    from transformers import AutoModelForCausalLM

    base = tiny_models[layout]
    before = tree_hash(base)
    ext = make_extension(tiny_tok)
    counts = _extend(base, ext, tmp_path / "out", init="subword-mean")
    n_new = ext.extended.vocab_size
    assert tree_hash(base) == before  # BASE untouched
    assert counts["rows"] == n_new and counts["new_rows"] == 3
    assert counts["old_rows_identical"] and counts["logits_check"] == "passed"
    assert counts["tokenizer_check"] == "passed"
    assert json.loads((tmp_path / "out" / "config.json").read_text())["vocab_size"] == n_new
    model = AutoModelForCausalLM.from_pretrained(str(tmp_path / "out"))
    assert model.get_input_embeddings().weight.shape[0] == n_new
    assert model.get_output_embeddings().weight.shape[0] == n_new
    # every unchanged tensor is byte-identical, not just the embedding's old rows
    b, o = read_checkpoint(base), read_checkpoint(tmp_path / "out")
    assert set(b.tensors) == set(o.tensors)
    for name in b.tensors:
        old, new = read_tensor(b, name), read_tensor(o, name)
        assert torch.equal(old.view(torch.uint8), new[: old.shape[0]].view(torch.uint8)), name


def test_new_rows_follow_the_method(tiny_models, tiny_tok, tmp_path):
    """Hand check: the subword-mean row of 高血压 is the mean of the rows of its base pieces."""
    ext = make_extension(tiny_tok)
    _extend(tiny_models["single-untied"], ext, tmp_path / "out", init="subword-mean", init_output="zero")
    base, out = read_checkpoint(tiny_models["single-untied"]), read_checkpoint(tmp_path / "out")
    emb_old, emb_new = read_tensor(base, base.input_name), read_tensor(out, out.input_name)
    entry = ext.added[0]
    pieces = ext.base.encode(entry.text)
    assert len(pieces) > 1
    torch.testing.assert_close(emb_new[entry.id], emb_old[pieces].mean(0))
    assert torch.count_nonzero(read_tensor(out, "lm_head.weight")[ext.base.vocab_size :]) == 0


def test_tied_model_is_untied_for_a_different_output_method(tiny_models, tiny_tok, tmp_path):
    ext = make_extension(tiny_tok)
    counts = _extend(tiny_models["sharded-tied"], ext, tmp_path / "out", init="mean", init_output="zero")
    assert counts["untied"] and not counts["tied"]
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["tie_word_embeddings"] is False
    index = json.loads((tmp_path / "out" / "model.safetensors.index.json").read_text())
    assert "lm_head.weight" in index["weight_map"]
    out = read_checkpoint(tmp_path / "out")
    head, emb = read_tensor(out, "lm_head.weight"), read_tensor(out, out.input_name)
    assert torch.equal(head[: ext.base.vocab_size], emb[: ext.base.vocab_size])  # old head = old tied matrix
    assert counts["logits_check"] == "passed"


def test_padded_matrix_reuses_padding_rows_and_keeps_the_rest(tiny_models, tiny_tok, tmp_path):
    ext = make_extension(tiny_tok)
    base = read_checkpoint(tiny_models["padded"])
    counts = _extend(tiny_models["padded"], ext, tmp_path / "out", init="mean")
    assert counts["rows"] == base.rows  # 10 padding rows absorb the 3 new tokens: the matrix does not grow
    assert (counts["padding_rows_reused"], counts["padding_rows_kept"], counts["padding_rows_added"]) == (3, 7, 0)
    out = read_checkpoint(tmp_path / "out")
    old, new = read_tensor(base, base.input_name), read_tensor(out, out.input_name)
    n_new = ext.extended.vocab_size
    assert torch.equal(old[n_new:], new[n_new:])  # unused padding rows kept
    mean = old[: ext.base.vocab_size].double().mean(0).float()
    torch.testing.assert_close(new[ext.base.vocab_size : n_new], mean.expand(3, -1))  # mean of real rows only


def test_pad_to_multiple_of(tiny_models, tiny_tok, tmp_path):
    ext = make_extension(tiny_tok)
    counts = _extend(tiny_models["single-untied"], ext, tmp_path / "out", pad_to_multiple_of=64)
    assert counts["rows"] % 64 == 0 and counts["rows"] >= ext.extended.vocab_size
    assert counts["padding_rows_added"] == counts["rows"] - ext.extended.vocab_size
    assert counts["logits_check"] == "passed"


def test_hard_links_only_unchanged_shards(tiny_models, tiny_tok, tmp_path):
    ext = make_extension(tiny_tok)
    counts = _extend(tiny_models["sharded-untied"], ext, tmp_path / "out", link_unchanged=True)
    assert counts["shards_linked"] >= 1 and counts["shards_rewritten"] >= 1
    base = read_checkpoint(tiny_models["sharded-untied"])
    emb_file = base.tensors[base.input_name].file
    assert (tmp_path / "out" / emb_file).stat().st_ino != (base.path / emb_file).stat().st_ino


def test_rewritten_shard_is_valid_safetensors(tiny_models, tiny_tok, tmp_path):
    ext = make_extension(tiny_tok)
    _extend(tiny_models["sharded-untied"], ext, tmp_path / "out")
    for shard in (tmp_path / "out").glob("*.safetensors"):
        with safe_open(str(shard), framework="pt") as fh:
            for name in fh.keys():  # noqa: SIM118  (safe_open is not iterable)
                assert fh.get_tensor(name).isfinite().all()
