"""The root command: help, version, and the one-line error contract."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from vocabx import __version__
from vocabx.cli import main


def test_help_and_version() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["-h"])
    assert result.exit_code == 0 and "Adapt a pretrained" in result.output
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2 and "No such command" in result.output


def test_top_level_cli_shim_runs_without_install(tmp_path) -> None:
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(repo / "cli.py"), "--version"], capture_output=True, text=True, cwd=repo)
    assert proc.returncode == 0 and __version__ in proc.stdout


def _leaf_commands(command, ctx, name: str = ""):
    """(`train cpt`-style name, command) for every command under `command`."""
    if not isinstance(command, click.Group):
        yield name, command
        return
    for sub in command.list_commands(ctx):
        yield from _leaf_commands(command.get_command(ctx, sub), ctx, f"{name} {sub}".strip())


def test_every_command_spells_the_text_field_one_way() -> None:
    """`--text-field FIELD` (one value) names the field of all a command's inputs; no per-input variant exists."""
    readers = []
    for name, command in _leaf_commands(main, click.Context(main)):
        options = {o: p for p in command.params for o in p.opts if o.startswith("--")}
        assert not [o for o in options if o.endswith("-text-field") and o != "--text-field"], name
        if "--text-field" in options:
            assert not options["--text-field"].multiple, name
            readers.append(name)
    assert {"analyze", "extend", "verify", "bench", "select", "eval", "train cpt", "train distill", "demo"} == set(
        readers)


def test_a_removed_text_field_flag_names_its_replacement() -> None:
    result = CliRunner().invoke(main, ["eval", "m", "--domain", "d.csv", "--domain-text-field", "title"])
    assert result.exit_code == 2 and "No such option '--domain-text-field'" in result.output
    assert "--text-field FIELD" in result.output and "--domain SPEC#FIELD" in result.output
    result = CliRunner().invoke(main, ["train", "cpt", "m", "--replay-text-field", "title"])
    assert result.exit_code == 2 and "--replay SPEC#FIELD" in result.output and "Traceback" not in result.output
