"""The root command: help, version, and the one-line error contract."""

from __future__ import annotations

import subprocess
import sys

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
