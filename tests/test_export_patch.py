"""`vocabx export patch` and `vocabx apply`: a patch holds the tokenizer difference and the new rows only, and
rebuilds the extended model bit for bit; a wrong base, a damaged patch or an existing OUT is a one-line error."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from vocabx.cli.main import main
from vocabx.export import delta
from vocabx.outputs import file_sha256


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def _same_files(a, b) -> None:
    names = sorted(p.name for p in a.iterdir() if p.is_file())
    assert names == sorted(p.name for p in b.iterdir() if p.is_file())
    for name in names:
        assert file_sha256(a / name) == file_sha256(b / name), name


@pytest.mark.parametrize("pair", ["tiny_pair", "tiny_pair_untied"])
def test_patch_rebuilds_the_model_bit_for_bit(tmp_path, pair, request) -> None:
    base, model = request.getfixturevalue(pair)
    result = _run("export", "patch", str(model), "--out", str(tmp_path / "p"), "--json")
    assert result.exit_code == 0, result.output
    sizes = json.loads(result.output)
    plan = json.loads((tmp_path / "p" / "patch.json").read_text())
    assert plan["files"]["tokenizer.json"]["how"] == "delta" and plan["files"]["model.safetensors"]["how"] == "rows"
    new = json.loads((model / "manifest.json").read_text())["counts"]["added"]
    assert all(entry["rows"] - entry["start"] == new for entry in plan["rows"].values())
    assert len(plan["rows"]) == (2 if pair == "tiny_pair_untied" else 1)
    assert sizes["patch_bytes"] < sizes["model_bytes"]
    result = _run("apply", str(tmp_path / "p"), str(base), "--out", str(tmp_path / "rebuilt"))
    assert result.exit_code == 0, result.output
    _same_files(model, tmp_path / "rebuilt")


def test_apply_refuses_a_wrong_base_and_writes_nothing(tmp_path, tiny_pair) -> None:
    base, model = tiny_pair
    assert _run("export", "patch", str(model), "--out", str(tmp_path / "p")).exit_code == 0
    other = tmp_path / "other"
    shutil.copytree(base, other)
    (other / "config.json").write_text((other / "config.json").read_text().replace("16", "17", 1))
    result = _run("apply", str(tmp_path / "p"), str(other), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and "does not match the patch" in result.output and "config.json" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_existing_out_and_bad_patch_are_refused(tmp_path, tiny_pair) -> None:
    base, model = tiny_pair
    (tmp_path / "p").mkdir()
    result = _run("export", "patch", str(model), "--out", str(tmp_path / "p"))
    assert result.exit_code == 1 and "already exists" in result.output and "--force" in result.output
    result = _run("apply", str(tmp_path / "p"), str(base), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "not a vocabx patch" in result.output and not (tmp_path / "out").exists()


def test_delta_by_hand() -> None:
    assert delta.diff(b"a\nb\nc\n", b"a\nb\nX\nc\n") == [["copy", 0, 4], ["add", "X\n"], ["copy", 4, 6]]
    assert delta.diff(b"", b"\xff\n") == [["add64", "/wo="]]


@given(st.lists(st.binary(max_size=6), max_size=30), st.lists(st.binary(max_size=6), max_size=30))
def test_delta_round_trips(old: list[bytes], new: list[bytes]) -> None:
    a, b = b"\n".join(old), b"\n".join(old[:3] + new + old[3:])
    assert delta.apply(a, delta.diff(a, b)) == b
