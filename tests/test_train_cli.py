"""`vocabx train cpt|sft|merge` through click: flags map to config fields, one-line errors with hints."""

from __future__ import annotations

import json

from click.testing import CliRunner

from vocabx.cli import main


def test_train_help_lists_subcommands_and_field_help() -> None:
    result = CliRunner().invoke(main, ["train", "-h"])
    assert result.exit_code == 0 and all(c in result.output for c in ("cpt", "sft", "merge"))
    result = CliRunner().invoke(main, ["train", "cpt", "-h"])
    assert result.exit_code == 0 and "--replay-ratio" in result.output and "--embed-lr" in result.output


def test_cpt_cli_runs_then_refuses_to_overwrite(tmp_path, tiny_model, corpora) -> None:
    out = tmp_path / "run"
    args = ["train", "cpt", str(tiny_model), "--data", str(corpora["domain"]), "--replay", str(corpora["general"]),
            "--out", str(out), "--block-size", "16", "--batch-size", "2", "--max-steps", "3", "--embed-steps", "1",
            "--method", "full", "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["steps"] == 3 and summary["replay_ratio"] == 0.2 and (out / "manifest.json").is_file()
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 1 and "already exists" in again.output and "Traceback" not in again.output


def test_cli_errors_are_one_line_with_a_hint(tmp_path, tiny_model, corpora) -> None:
    result = CliRunner().invoke(main, ["train", "cpt", str(tiny_model), "--data", str(corpora["domain"]),
                                       "--out", str(tmp_path / "o"), "--replay-ratio", "1.5"])
    assert result.exit_code == 2 and "replay_ratio must be in [0, 1)" in result.output
    result = CliRunner().invoke(main, ["train", "merge", str(tiny_model), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1 and "not a LoRA adapter" in result.output
    result = CliRunner().invoke(main, ["train", "cpt", str(tmp_path / "nope"), "--data", "x", "--out", "y"])
    assert result.exit_code == 1 and "smollm2-135m" in result.output
