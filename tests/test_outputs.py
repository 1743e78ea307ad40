"""Atomic output directories, manifests and config files: a failure leaves nothing, a success leaves it all."""

from __future__ import annotations

import dataclasses
import json

import pytest

from vocabx.config import build_config, read_config_file
from vocabx.errors import OutputError, UsageError
from vocabx.outputs import atomic_output_dir, build_manifest, check_output_dir, write_json


def test_atomic_dir_appears_whole_or_not_at_all(tmp_path) -> None:
    out = tmp_path / "run"
    with pytest.raises(RuntimeError):
        with atomic_output_dir(out) as tmp:
            (tmp / "half.txt").write_text("x")
            raise RuntimeError("crash midway")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with atomic_output_dir(out) as tmp:
        (tmp / "done.txt").write_text("ok")
    assert (out / "done.txt").read_text() == "ok"


def test_existing_output_needs_force_and_replace_keeps_one_copy(tmp_path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(OutputError, match="already exists") as info:
        check_output_dir(out)
    assert "--force" in (info.value.hint or "")
    with atomic_output_dir(out, force=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_output_inside_input_is_refused(tmp_path) -> None:
    (tmp_path / "corpus").mkdir()
    with pytest.raises(OutputError, match="inside the input"):
        check_output_dir(tmp_path / "corpus" / "out", inputs=[tmp_path / "corpus"])


def test_manifest_records_inputs_and_is_deterministic_on_request(tmp_path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("高血压", encoding="utf-8")

    @dataclasses.dataclass
    class Cfg:
        budget: int = 3

    one = build_manifest("t", Cfg(), inputs=[src], counts={"added": 1}, deterministic=True)
    two = build_manifest("t", Cfg(), inputs=[src], counts={"added": 1}, deterministic=True)
    assert one == two and "created" not in one
    assert one["inputs"][0]["bytes"] == 9 and len(one["inputs"][0]["sha256"]) == 64
    write_json(tmp_path / "m.json", one)
    assert json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))["config"] == {"budget": 3}


@dataclasses.dataclass
class _Cfg:
    budget: int = 10
    name: str = "x"
    budgets: tuple[int, ...] = (1, 2)


def test_build_config_precedence_and_errors(tmp_path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("budget: 5\nname: file\nbudgets: [3, 4]\n")
    cfg = build_config(_Cfg, read_config_file(f), name="flag", budget=None)
    assert cfg == _Cfg(budget=5, name="flag", budgets=(3, 4))
    with pytest.raises(UsageError, match="unknown _Cfg field") as info:
        build_config(_Cfg, {"bugdet": 1})
    assert "budget" in (info.value.hint or "")
    with pytest.raises(UsageError, match="does not exist"):
        read_config_file(tmp_path / "missing.yaml")
