"""`vocabx eval` through click: the summary, --json, --config, and one-line errors with hints and exit codes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests._tiny_llama import write_corpora, write_tiny_model
from vocabx.cli.main import main


@pytest.fixture(scope="module")
def dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("evalcli")
    out = {"model": write_tiny_model(root / "model"), "root": root}
    out.update(write_corpora(root / "corpora"))
    return out


def args(d: dict[str, Path], *extra: str) -> list[str]:
    return ["eval", str(d["model"]), "--domain", f"med={d['domain']}", "--general", str(d["general"]),
            "--max-docs", "20", "--decode-tokens", "4", "--decode-prompts", "1", *extra]


def test_summary_and_output_dir(dirs, tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(main, args(dirs, "--base", str(dirs["model"]), "--base-label", "before", "--out", str(out)))
    assert res.exit_code == 0, res.output
    assert "model" in res.output and "before" in res.output and "chars/s" in res.output
    assert "new tokens (ids >= 400): 6" in res.output
    assert re.search(r"scored \S+ \(domain\): \d+ documents, [\d,]+ characters \((stopped at --max-|the whole)",
                     res.output)
    assert "{" not in res.output  # readable lines, not a Python dict
    assert (out / "eval.json").is_file() and (out / "bpc.png").is_file() and (out / "manifest.json").is_file()
    again = CliRunner().invoke(main, args(dirs, "--out", str(out)))
    assert again.exit_code != 0 and "already exists" in again.output and "--force" in again.output
    assert CliRunner().invoke(main, args(dirs, "--out", str(out), "--force", "--no-plots")).exit_code == 0
    assert not (out / "bpc.png").exists()


def test_json_and_config_file(dirs, tmp_path):
    cfg = tmp_path / "eval.yaml"
    cfg.write_text("top_k: 2\nmodel_label: ext\n", encoding="utf-8")
    res = CliRunner().invoke(main, args(dirs, "--json", "--config", str(cfg), "--new-from", "403"))
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert {r["tokenizer"] for r in data["rows"]} == {"ext"}
    assert data["usage"]["new_start"] == 403 and data["usage"]["new_tokens"] == 3
    assert len(data["usage"]["under_trained"]) <= 2


@pytest.mark.parametrize("extra, message, code", [
    (("--max-docs", "0"), "max_docs must be positive", 2),
    (("--new-from", "99999"), "outside the embedding", 2),
    (("--base-label", "model"), "share the label", 2),
])
def test_bad_flags(dirs, extra, message, code):
    res = CliRunner().invoke(main, args(dirs, *extra))
    assert res.exit_code == code and message in res.output and "Traceback" not in res.output


def test_bad_model_and_corpus(dirs, tmp_path):
    noweights = tmp_path / "noweights"
    shutil.copytree(dirs["model"], noweights)
    (noweights / "model.safetensors").unlink()
    res = CliRunner().invoke(main, ["eval", str(noweights), "--domain", str(dirs["domain"])])
    assert res.exit_code == 1 and "no model weights" in res.output and "vocabx extend" in res.output
    res = CliRunner().invoke(main, ["eval", str(tmp_path / "missing"), "--domain", str(dirs["domain"])])
    assert res.exit_code == 1 and "smollm2-135m" in res.output
    res = CliRunner().invoke(main, ["eval", str(dirs["model"]), "--domain", str(dirs["empty"])])
    assert res.exit_code == 1 and "yielded no text" in res.output
    res = CliRunner().invoke(main, ["eval", str(dirs["model"])])
    assert res.exit_code == 2 and "--domain" in res.output
