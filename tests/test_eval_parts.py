"""Hand-checkable pieces of `vocabx eval`: emission share, context gain, robust z, flags, token costs, curves,
the manifest chain back to the extend step, and the bpc callback's agreement with the total."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest
import torch

from vocabx.eval.context import context_gain
from vocabx.eval.curves import read_curves
from vocabx.eval.decode_speed import domain_prompts
from vocabx.eval.newrows import find_init_reference
from vocabx.eval.usage import NewRowStat, TokenCost, emission_share, emitted_new, flag_rows, robust_z, row_stats, worst


def test_emission_share_on_a_crafted_id_list():
    ids = [3, 100, 99, 250, 7, 100, 12, 101]  # 100, 250, 100, 101 are new (>= 100): 4 of 8
    assert emission_share(ids, new_start=100) == 0.5
    assert emission_share([], new_start=100) != emission_share([], new_start=100)  # NaN, not 0
    assert emitted_new([[100, 5], [250, 100]], new_start=100) == Counter({100: 2, 250: 1})


def test_context_gain_arithmetic():
    same = context_gain(2048, 1.5, 2048, 1.0)
    assert (same.chars_per_window, same.base_chars_per_window, same.gain) == (3072.0, 2048.0, 1.5)
    longer_base = context_gain(2048, 1.5, 4096, 1.0)  # the base reads 4096 chars, the model 3072: a loss
    assert longer_base.gain == pytest.approx(0.75)
    assert math.isnan(context_gain(2048, 1.5, 2048, 0.0).gain)


def test_robust_z_and_outlier_flags():
    z = robust_z(torch.tensor([4.0, 2.0]), torch.tensor([1.0, 2.0, 3.0]))  # median 2, MAD 1 -> scale 1.4826
    assert z.tolist() == pytest.approx([2 / 1.4826, 0.0])
    rows = [NewRowStat(id=i, token=f"t{i}", text=f"t{i}", input_norm=1.0, input_norm_z=nz, output_norm_z=None,
                       drift=d, occurrences=occ, bits_per_char=bpc, emitted=0)
            for i, (nz, d, occ, bpc) in enumerate([(0.0, 0.5, 5, 1.0), (-4.0, 0.4, 5, 1.0),
                                                   (0.0, 0.01, 5, 1.0), (0.0, 0.6, 5, 3.5), (0.0, 0.7, 1, 9.0)])]
    flag_rows(rows, domain_bpc=1.5)  # median drift 0.5 -> limit 0.05; costly above 3.0 bits/char, >= 2 occurrences
    assert [r.flags for r in rows] == [[], ["norm_outlier"], ["unchanged"], ["costly"], []]
    assert [r.id for r in worst(rows, 2)] == [2, 1]  # least moved first among single-flag rows


def test_row_stats_drift_and_tied_head():
    torch.manual_seed(0)
    old = torch.randn(10, 4)
    init = torch.randn(3, 4)
    trained = torch.cat([old, init + torch.tensor([[0.0], [1.0], [0.0]]) * init])  # row 11 doubled: drift 1
    stats = row_stats(trained, None, new_start=10, n_tokens=13, init=(init, None))
    assert stats["drift"].tolist() == pytest.approx([0.0, 1.0, 0.0])
    assert "output_norm_z" not in stats


def test_token_cost_collects_new_targets_only():
    cost = TokenCost(new_start=10)
    cost(torch.tensor([3, 10, 11, 10]), torch.tensor([1.0, math.log(2), 2 * math.log(2), 3 * math.log(2)]))
    assert cost.count == Counter({10: 2, 11: 1})
    assert cost.bits[10] == pytest.approx(4.0) and cost.bits[11] == pytest.approx(2.0)


def test_domain_prompts_are_fixed_openings():
    assert domain_prompts(["  ", " 高血压患者 ", "abc"], n=5, chars=3) == ["高血压", "abc"]


def test_curves_from_a_log_with_a_bad_line(tmp_path: Path):
    lines = [{"step": 10, "stage": "embeddings", "loss": 3.0}, {"step": 20, "stage": "lora", "loss": 2.5},
             {"step": 20, "eval_bpc": 1.9}]
    text = "\n".join(json.dumps(r) for r in lines) + "\nnot json\n"
    (tmp_path / "log.jsonl").write_text(text, encoding="utf-8")
    curves = read_curves(tmp_path)
    assert curves.loss == [(10, 3.0), (20, 2.5)] and curves.eval_bpc == [(20, 1.9)]
    assert curves.stages == {"embeddings": 10, "lora": 20} and curves.skipped == 1
    assert not read_curves(tmp_path / "missing")


def test_init_reference_follows_train_manifests(tmp_path: Path):
    ext, cpt, sft = (tmp_path / n for n in ("ext", "cpt", "sft"))
    for d, manifest in ((ext, {"command": "extend"}), (cpt, {"command": "train cpt", "config": {"model": str(ext)}}),
                        (sft, {"command": "train sft", "config": {"model": str(cpt)}})):
        d.mkdir()
        (d / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert find_init_reference(sft) == ext.resolve()
    assert find_init_reference(ext) == ext
    (cpt / "manifest.json").write_text(json.dumps({"command": "train cpt", "config": {"model": "gone"}}))
    assert find_init_reference(sft) is None


def test_bpc_callback_sums_to_the_total():
    from vocabx.eval.bpc import bits_per_character

    class Uniform(torch.nn.Module):  # every next token costs log2(8) = 3 bits
        def forward(self, input_ids, attention_mask):
            return type("Out", (), {"logits": torch.zeros(*input_ids.shape, 8)})()

    seen = []
    result = bits_per_character(Uniform(), lambda t: [ord(c) % 8 for c in t], ["abcd", "xy"], start_id=0,
                                max_length=3, stride=2, on_scored=lambda ids, nll: seen.append(nll.sum().item()))
    assert result.bits == pytest.approx(18.0) and result.bpc == pytest.approx(3.0)  # 6 tokens x 3 bits
    assert sum(seen) / math.log(2) == pytest.approx(result.bits)
