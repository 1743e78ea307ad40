"""`vocabx demo` through click: stage timings as they finish, the report path, --json; bad inputs give one line
with a hint, a non-zero exit, and no output directory (or the existing one left untouched)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests._tiny_llama import write_base_model, write_corpora
from vocabx.cli.main import main


@pytest.fixture(scope="module")
def dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("democli")
    return {"model": write_base_model(root / "model"), "root": root, **write_corpora(root / "corpora")}


def args(d: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["demo", "--corpus", str(d["domain"]), "--reference", str(d["general"]), "--model", str(d["model"]),
            "--compare", "none", "--budget", "20", "--eval-docs", "4", "--eval-chars", "300", "--decode-tokens", "3",
            "--examples", "2", "--out", str(out), *extra]


@pytest.mark.slow  # a whole tiny pipeline through the CLI
def test_quick_run_prints_each_stage_and_the_report(dirs):
    out = dirs["root"] / "quick"
    res = CliRunner().invoke(main, args(dirs, out, "--quick", "--json"))
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [s["name"] for s in data["stages"]] == ["split", "analyze", "extend", "eval", "bench", "examples", "report"]
    for stage in data["stages"]:
        assert f"  {stage['name']:<16}" in res.stderr and "s wall" in res.stderr
    assert Path(data["report"]["html"]).is_file() and Path(data["report"]["md"]).is_file()
    assert data["figures"]["labels"] == {"domain": "domain", "general": "general"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["general"] == [str(dirs["general"])]  # --reference is --general
    assert manifest["config"]["quick"] is True and not (out / "train").exists()


def one_line_error(res) -> str:
    assert res.exit_code != 0
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 2 and lines[0].startswith("vocabx demo ->") and lines[1].startswith("Error:"), res.output
    assert "Traceback" not in res.output
    return lines[1]


def test_missing_corpus_fails_before_writing_anything(dirs):
    out = dirs["root"] / "nocorpus"
    res = CliRunner().invoke(main, args(dirs, out, "--corpus", str(dirs["root"] / "missing.txt")))
    assert "missing.txt" in one_line_error(res)
    assert not out.exists()


def test_unknown_model_fails_with_a_hint(dirs):
    out = dirs["root"] / "nomodel"
    res = CliRunner().invoke(main, args(dirs, out, "--model", "no-such-model"))
    line = one_line_error(res)
    assert "no-such-model" in line and "smollm2-135m" in line
    assert not out.exists()


def test_existing_output_needs_force_and_is_left_alone(dirs):
    out = dirs["root"] / "exists"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    res = CliRunner().invoke(main, args(dirs, out))
    line = one_line_error(res)
    assert "already exists" in line and "--force" in line
    assert (out / "keep.txt").read_text() == "mine" and len(list(out.iterdir())) == 1


def test_bad_values_exit_2_naming_the_flag(dirs):
    out = dirs["root"] / "bad"
    res = CliRunner().invoke(main, args(dirs, out, "--budget", "0"))
    assert res.exit_code == 2 and "budget" in res.output and "--budget" in res.output
    res = CliRunner().invoke(main, ["demo", "--holdout-every", "1", "--out", str(out)])
    assert res.exit_code == 2 and "holdout" in res.output
    assert not out.exists()
