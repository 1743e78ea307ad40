"""`vocabx bench` through click: outputs, --json, NAME=SPEC labels, and one-line errors that leave nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests._builders import bytelevel_json, wordpiece_json
from vocabx.cli import main


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("bytes.json").write_text(bytelevel_json([]), encoding="utf-8")
    Path("ab.json").write_text(bytelevel_json([("a", "b")]), encoding="utf-8")
    Path("wp.json").write_text(wordpiece_json(), encoding="utf-8")
    Path("abc.txt").write_text("ababababab\nab ab ab\n", encoding="utf-8")
    Path("en.jsonl").write_text('{"body": "hello world"}\n{"body": "Hello, World."}\n', encoding="utf-8")
    Path("blank.txt").write_text("\n  \n", encoding="utf-8")
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(main, ["bench", *args, "--repeats", "1"])


def test_bench_writes_report(workdir: Path) -> None:
    result = run("ref=bytes.json", "ab.json", "wp.json", "--corpus", "abc.txt", "--corpus", "en=en.jsonl#body",
                 "--out", "out")
    assert result.exit_code == 0, result.output
    out = workdir / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "bench.json", "bench.md", "chars_per_token.png", "context_gain.png", "manifest.json"
    ]
    data = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert data["reference"] == "ref"
    # Unlabelled files in the working directory are named after the file.
    assert [t["label"] for t in data["tokenizers"]] == ["ref", "ab.json", "wp.json"]
    row = {(r["tokenizer"], r["corpus"]): r for r in data["rows"]}
    assert row[("ab.json", "abc")]["tokens"] == 10 and row[("ref", "abc")]["tokens"] == 18
    assert row[("ab.json", "abc")]["context_gain"] == pytest.approx(1.8)
    assert row[("wp.json", "en")]["roundtrip_share"] == 0.5 and row[("ref", "en")]["roundtrip_share"] == 1.0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["command"] == "bench" and manifest["counts"]["pairs"] == 6
    assert "ref" in result.output and "abc: 2 docs, 18 chars" in result.output
    assert (out / "chars_per_token.png").read_bytes()[:4] == b"\x89PNG"


def test_labels_default_and_unique(workdir: Path) -> None:
    Path("sub").mkdir()
    Path("sub/tokenizer.json").write_text(bytelevel_json([]), encoding="utf-8")
    result = run("sub", "sub/tokenizer.json", "--corpus", "abc.txt", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [t["label"] for t in data["tokenizers"]] == ["sub", "sub-2"]  # both named after the directory


def test_json_prints_bench_json(workdir: Path) -> None:
    result = run("a=ab.json", "b=bytes.json", "--corpus", "abc.txt", "--json", "--reference", "b", "--context", "10")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    a = next(r for r in data["rows"] if r["tokenizer"] == "a")
    assert a["context_gain"] == pytest.approx(1.8) and a["chars_per_window"] == pytest.approx(18.0)
    assert not (workdir / "out").exists()


def test_existing_out_is_refused_unless_force(workdir: Path) -> None:
    (workdir / "out").mkdir()
    (workdir / "out" / "keep.txt").write_text("mine", encoding="utf-8")
    result = run("ab.json", "--corpus", "abc.txt", "--out", "out")
    assert result.exit_code == 1 and "already exists" in result.output and "--force" in result.output
    assert (workdir / "out" / "keep.txt").read_text(encoding="utf-8") == "mine"
    result = run("ab.json", "--corpus", "abc.txt", "--out", "out", "--force", "--no-charts")
    assert result.exit_code == 1 and "not a vocabx output" in result.output  # --force deletes only vocabx's own
    assert (workdir / "out" / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert run("ab.json", "--corpus", "abc.txt", "--out", "out2", "--no-charts").exit_code == 0
    result = run("ab.json", "--corpus", "abc.txt", "--out", "out2", "--force", "--no-charts")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (workdir / "out2").iterdir()) == ["bench.json", "bench.md", "manifest.json"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["ab.json", "missing/tok.json", "--corpus", "abc.txt"], 1, "tokenizer 'missing/tok.json' failed to load"),
        (["ab.json", "abc.txt", "--corpus", "abc.txt"], 1, "tokenizer 'abc.txt' failed to load"),
        (["ab.json", "--corpus", "blank.txt"], 1, "yielded no text"),
        (["ab.json", "--corpus", "nowhere.txt"], 1, "nowhere.txt"),
        (["ab.json", "--corpus", "abc.txt", "--reference", "zzz"], 2, "reference 'zzz'"),
        (["--corpus", "abc.txt"], 2, "no tokenizer given"),
        (["ab.json"], 2, "no corpus given"),
        (["ab.json", "--corpus", "abc.txt", "--corpus", "en.jsonl", "--text-field", "title"], 1,
         "e.g. --text-field body"),
        (["ab.json", "--corpus", "abc.txt", "--context", "0"], 2, "context must be a positive"),
        (["ab.json", "--corpus", "abc.txt", "--max-chars", "0"], 2, "max_chars must be positive"),
        (["ab.json", "--corpus", "abc.txt", "--eval", "nope.json"], 2, "eval file nope.json does not exist"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(workdir: Path, args: list[str], code: int, message: str) -> None:
    before = sorted(p.name for p in workdir.iterdir())
    result = run(*args, "--out", "out")
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
    assert result.output.strip().startswith("Error:") and len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in workdir.iterdir()) == before  # no out/, no temp dir left behind


def test_eval_columns_are_merged(workdir: Path) -> None:
    Path("eval.json").write_text(json.dumps([{"model": "a", "corpus": "abc", "bits_per_char": 1.5}]), encoding="utf-8")
    result = run("a=ab.json", "--corpus", "abc.txt", "--eval", "eval.json", "--out", "out")
    assert result.exit_code == 0, result.output
    assert "bits/char" in result.output and "1.5" in result.output  # the terminal's short header
    assert "| bits_per_char |" in (workdir / "out" / "bench.md").read_text(encoding="utf-8")


def test_config_file_fills_the_config(workdir: Path) -> None:
    Path("bench.yaml").write_text("tokenizers: [a=ab.json, b=bytes.json]\ncorpora: [abc.txt]\ncontext: 4\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["bench", "--config", "bench.yaml", "--repeats", "0", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["context"] == 4 and [t["label"] for t in data["tokenizers"]] == ["a", "b"]
