"""`vocabx eval --general-instructions/--domain-instructions` on the tiny Llama: answer bits/char counts only the
assistant turns, a model against itself changes by exactly 0, greedy answers of both sides land side by side in
eval.json and instructions.md, and bad inputs fail in one line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from vocabx.cli.main import main
from vocabx.eval import EvalConfig
from vocabx.eval.api import evaluate
from vocabx.eval.instructions import answer_bpc


@pytest.fixture(scope="module")
def instruction_files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("instr")
    general = [{"instruction": f"the city {i}", "input": "", "output": "music team news"} for i in range(6)]
    (root / "general.json").write_text(json.dumps(general), encoding="utf-8")
    domain = [{"conversations": [{"from": "human", "value": "患者 血压"}, {"from": "gpt", "value": f"治疗 药物 {i}"}]}
              for i in range(4)]
    (root / "domain.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in domain), encoding="utf-8")
    (root / "plain.json").write_text(json.dumps([{"text": "no conversation"}]), encoding="utf-8")
    return {"general": root / "general.json", "domain": root / "domain.jsonl", "plain": root / "plain.json"}


def test_answer_bpc_scores_only_the_assistant_turns(tiny_model) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    convo = [{"role": "user", "content": "the city"}, {"role": "assistant", "content": "music team"}]
    longer_prompt = [{"role": "user", "content": "the city river school weather"}, convo[1]]
    a, b = answer_bpc(model, tok, [convo], 128), answer_bpc(model, tok, [longer_prompt], 128)
    assert a.chars == b.chars == len("music team") and a.docs == 1
    assert a.tokens == b.tokens  # the answer and its end-of-turn marker, whatever the prompt's length
    assert math.isfinite(a.bpc) and a.bpc > 0
    # By hand: the NLL of the labelled tokens under the model, in bits, over the answer's characters.
    from vocabx.train.sft_data import IGNORE, encode

    ids, labels = encode(tok, convo)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0, :-1]
    keep = torch.tensor(labels[1:]) != IGNORE
    nll = torch.nn.functional.cross_entropy(logits[keep], torch.tensor(labels[1:])[keep], reduction="sum")
    assert a.bits == pytest.approx(float(nll) / math.log(2), rel=1e-5)


def test_eval_instructions_side_by_side(tmp_path, tiny_model, instruction_files) -> None:
    out = tmp_path / "eval"
    result = evaluate(EvalConfig(model=str(tiny_model), base=str(tiny_model), model_label="tuned",
                                 general_instructions=(f"gen={instruction_files['general']}",),
                                 domain_instructions=(str(instruction_files["domain"]),), answer_prompts=2,
                                 answer_tokens=4, decode_tokens=0, out=str(out), plots=False))
    rows = {(r["model"], r["set"]): r for r in result.instructions}
    assert set(rows) == {("tuned", "gen"), ("base", "gen"), ("tuned", "domain"), ("base", "domain")}
    assert rows[("tuned", "gen")]["vs_base"] == 0.0 and rows[("tuned", "domain")]["vs_base"] == 0.0
    assert rows[("tuned", "gen")]["answer_chars"] == 6 * len("music team news")
    assert rows[("base", "domain")]["role"] == "domain" and rows[("base", "domain")]["docs"] == 4
    assert len(result.answers) == 2 and result.answers[0]["prompt"] == "the city 0"
    assert set(result.answers[0]["answers"]) == {"tuned", "base"}
    assert result.answers[0]["answers"]["tuned"] == result.answers[0]["answers"]["base"]  # same weights, greedy
    saved = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    assert saved["instructions"] == json.loads(json.dumps(result.instructions)) and len(saved["answers"]) == 2
    page = (out / "instructions.md").read_text(encoding="utf-8")
    assert "| prompt | tuned | base |" in page and "the city 1" in page
    assert json.loads((out / "manifest.json").read_text())["counts"]["answered_prompts"] == 2


def test_eval_instruction_errors_are_one_line(tmp_path, tiny_model, instruction_files) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["eval", str(tiny_model), "--general-instructions", str(instruction_files["plain"]),
                                  "--decode-tokens", "0"])
    assert result.exit_code == 1 and "holds no Alpaca or ShareGPT conversation" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(main, ["eval", str(tiny_model), "--general-instructions", str(tmp_path / "missing.json")])
    assert result.exit_code != 0 and "does not exist" in result.output
    result = runner.invoke(main, ["eval", str(tiny_model), "--general-instructions", str(instruction_files["general"]),
                                  "--answer-prompts", "-1"])
    assert result.exit_code == 2 and "answer_prompts must be >= 0" in result.output
