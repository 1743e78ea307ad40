"""`vocabx select` on the command line: the summary names every stage's count, --json gives the report, a
--config file fills the same fields, fastText runs as the other scorer, and bad input ends in one line with the
flag that fixes it and nothing written."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from tests._select_pool import GENERAL, MEDICAL, doc, read_jsonl, write_jsonl
from vocabx.cli.main import main


def invoke(*args: str):
    return CliRunner().invoke(main, ["select", *args], catch_exceptions=False)


def test_select_summary_and_json(pool, tmp_path) -> None:
    files = [str(f) for f in pool["files"]]
    result = invoke(*files, "--domain", str(pool["sample"]), "--out", str(tmp_path / "out"), "--workers", "1",
                    "--reference-docs", "400")
    assert result.exit_code == 0, result.output
    assert "near_duplicate" in result.output and "selected" in result.output and "threshold" in result.output
    assert (tmp_path / "out" / "report.md").read_text(encoding="utf-8").startswith("# vocabx select")
    result = invoke(*files, "--domain", str(pool["sample"]), "--out", str(tmp_path / "j"), "--workers", "1",
                    "--reference-docs", "400", "--json", "--no-dedup")
    data = json.loads(result.output)
    assert data["outcomes"]["docs"].get("near_duplicate", 0) == 0 and data["selected_docs"] > 100


def test_select_config_file(pool, tmp_path) -> None:
    config = tmp_path / "select.yaml"
    config.write_text(f"domain: [{pool['sample']}]\nbudget_chars: 1000\nworkers: 1\nreference_docs: 400\n")
    result = invoke(str(pool["files"][0]), "--config", str(config), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["config"]["budget_chars"] == 1000 and manifest["counts"]["selected_chars"] <= 1000


@pytest.mark.slow
def test_select_fasttext_scorer(pool, tmp_path) -> None:
    pytest.importorskip("fasttext")
    result = invoke(*[str(f) for f in pool["files"]], "--domain", str(pool["sample"]), "--out", str(tmp_path / "ft"),
                    "--scorer", "fasttext", "--workers", "2", "--reference-docs", "400", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    chosen = {r["text"] for r in read_jsonl(tmp_path / "ft" / "domain.jsonl")}
    # fastText trains with two threads (not bit-reproducible): a copy whose original scored below the threshold
    # may be kept; no general document may.
    assert data["scorer"]["scorer"] == "fasttext" and chosen <= pool["medical"] | pool["copies"] and len(chosen) > 80


def test_select_bad_input_is_one_line(pool, tmp_path) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(main, ["select", str(pool["files"][0]), "--domain", str(pool["sample"]), "--out", str(out)])
    assert result.exit_code == 1 and "already exists" in result.output and "--force" in result.output
    result = runner.invoke(main, ["select", str(tmp_path / "missing.jsonl"), "--domain", str(pool["sample"]),
                                  "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "not a file, directory, glob" in result.output
    general = write_jsonl(tmp_path / "general.jsonl", [doc(GENERAL, random.Random(2)) for _ in range(200)])
    result = runner.invoke(main, ["select", str(general), "--domain", str(pool["sample"]), "--out",
                                  str(tmp_path / "none"), "--workers", "1"])
    assert result.exit_code == 1 and "was selected as domain" in result.output and "--min-score" in result.output
    small = write_jsonl(tmp_path / "small.jsonl", [doc(MEDICAL, random.Random(3)) for _ in range(5)])
    result = runner.invoke(main, ["select", str(general), "--domain", str(small), "--out", str(tmp_path / "s")])
    assert result.exit_code == 1 and "at least 30 documents" in result.output
    result = runner.invoke(main, ["select", "--domain", str(small), "--out", str(tmp_path / "p")])
    assert result.exit_code == 2 and "no pool given" in result.output
    for output in (result.output,):
        assert "Traceback" not in output
    assert not (tmp_path / "none").exists() and not (tmp_path / "s").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["general.jsonl", "out", "small.jsonl"]
