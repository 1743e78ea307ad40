"""What `vocabx train sft` feeds the model: with --replay-ratio R, R of the conversations in the batches the model
sees (recorded by a hook on its forward pass) are replayed general ones, in every batch;
--max-chars and --max-tokens take whole conversations up to the budget, as `train cpt` reads up to them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import vocabx.train.sft as sft_module
from vocabx.cli.main import main
from vocabx.train import SFTConfig, train_sft

DOMAIN = [{"instruction": f"患者 血压 {i}", "input": "", "output": "治疗 药物 检查"} for i in range(40)]
GENERAL = [{"conversations": [{"from": "human", "value": f"the city {i}"}, {"from": "gpt", "value": "music team"}]}
           for i in range(30)]


@pytest.fixture(scope="module")
def mix_files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mix")
    (root / "domain.json").write_text(json.dumps(DOMAIN, ensure_ascii=False), encoding="utf-8")
    (root / "general.jsonl").write_text("\n".join(json.dumps(r) for r in GENERAL), encoding="utf-8")
    return {"domain": root / "domain.json", "general": root / "general.jsonl"}


def _run(tmp_path, model, files, monkeypatch, **fields) -> tuple[dict, list[list[bool]]]:
    """Train, recording for every batch the model's forward pass received which rows are replayed ones."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model)
    seen: list[list[bool]] = []
    real_run_stage = sft_module.run_stage

    def record(module, args, kwargs):
        if module.training:
            seen.append(["the city" in tok.decode(row) for row in kwargs["input_ids"].tolist()])

    def run_stage(model, *args, **kwargs):
        hook = model.register_forward_pre_hook(record, with_kwargs=True)
        try:
            return real_run_stage(model, *args, **kwargs)
        finally:
            hook.remove()

    monkeypatch.setattr(sft_module, "run_stage", run_stage)
    cfg = SFTConfig(model=str(model), data=(str(files["domain"]),), out=str(tmp_path / "sft"), method="full",
                    log_steps=1, save_steps=1000, lr=1e-3, **fields)
    return train_sft(cfg), seen


@pytest.mark.parametrize("ratio,batch", [(0.2, 5), (0.25, 4)])
def test_replay_share_in_the_batches_the_model_sees(tmp_path, tiny_model, mix_files, monkeypatch, ratio,
                                                    batch) -> None:
    result, seen = _run(tmp_path, tiny_model, mix_files, monkeypatch, replay=(str(mix_files["general"]),),
                        replay_ratio=ratio, batch_size=batch, max_steps=6)
    flags = [flag for b in seen for flag in b]
    assert len(seen) == 6 and len(flags) == 6 * batch
    assert sum(flags) / len(flags) == ratio == result["replay_share"]
    assert all(sum(b) == round(ratio * batch) for b in seen)  # the share holds in every batch, not only overall


def test_no_replay_means_no_general_conversation(tmp_path, tiny_model, mix_files, monkeypatch) -> None:
    result, seen = _run(tmp_path, tiny_model, mix_files, monkeypatch, batch_size=4, max_steps=3)
    assert not any(flag for b in seen for flag in b) and result["replay_share"] == 0.0


def test_sft_budgets_take_whole_conversations(tmp_path, tiny_model, mix_files, monkeypatch) -> None:
    per_record = len("患者 血压 0") + len("治疗 药物 检查")  # message characters of records 0-9
    result, _ = _run(tmp_path, tiny_model, mix_files, monkeypatch, batch_size=2, epochs=1,
                     max_chars=5 * per_record + 3)
    assert result["data_samples"] == 5 and result["data_over_budget"] == 35 and result["examples"] == 4
    from transformers import AutoTokenizer

    from vocabx.train.sft_data import encode, to_messages

    tok = AutoTokenizer.from_pretrained(tiny_model)
    lengths = [len(encode(tok, to_messages(r))[0]) for r in DOMAIN[:3]]
    result, _ = _run(tmp_path, tiny_model, mix_files, monkeypatch, batch_size=2, epochs=1,
                     max_tokens=sum(lengths) + lengths[0] - 1, force=True)
    assert result["data_samples"] == 3 and result["data_over_budget"] == 37


def test_sft_and_cpt_share_the_budget_flags() -> None:
    runner = CliRunner()
    for command in ("cpt", "sft"):
        text = runner.invoke(main, ["train", command, "-h"]).output
        assert "--max-chars" in text and "--max-tokens" in text
    result = runner.invoke(main, ["train", "sft", "m", "--data", "x.json", "--out", "o", "--max-chars", "0"])
    assert result.exit_code == 2 and "max_chars must be > 0" in result.output
