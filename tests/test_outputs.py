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
    with pytest.raises(RuntimeError), atomic_output_dir(out) as tmp:
        (tmp / "half.txt").write_text("x")
        raise RuntimeError("crash midway")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with atomic_output_dir(out) as tmp:
        (tmp / "done.txt").write_text("ok")
    assert (out / "done.txt").read_text() == "ok"


def _vocabx_output(out, *names: str) -> None:
    """A finished vocabx output holding `names`, listed in its manifest."""
    out.mkdir()
    for name in names:
        (out / name).write_text(name)
    write_json(out / "manifest.json", build_manifest("t", {}, outputs=list(names), deterministic=True))


def test_existing_output_needs_force_and_replace_keeps_one_copy(tmp_path) -> None:
    out = tmp_path / "run"
    _vocabx_output(out, "old.txt")
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


def test_force_never_deletes_an_input_or_the_working_directory(tmp_path, monkeypatch) -> None:
    victim = tmp_path / "v"
    _vocabx_output(victim, "terms.tsv")
    (victim / "corpus.txt").write_text("data")
    for inputs in ([victim / "corpus.txt"], [f"label={victim / 'corpus.txt'}"], [f"{victim / 'corpus.txt'}#text"]):
        with pytest.raises(OutputError, match="holds the input"):
            check_output_dir(victim, force=True, inputs=inputs)
        with pytest.raises(OutputError, match="holds the input"):
            check_output_dir(tmp_path, force=True, inputs=inputs)  # an ancestor of the input too
    monkeypatch.chdir(victim)
    for out in (victim, tmp_path, "."):
        with pytest.raises(OutputError, match="working directory"):
            check_output_dir(out, force=True)
    assert (victim / "corpus.txt").read_text() == "data"


def test_force_replaces_only_a_vocabx_output(tmp_path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputError, match="not a vocabx output"):
        check_output_dir(mine, force=True)
    with pytest.raises(OutputError, match="not a vocabx output"), atomic_output_dir(mine, force=True) as tmp:
        (tmp / "x").write_text("x")
    ours = tmp_path / "ours"
    _vocabx_output(ours, "terms.tsv")
    (ours / "notes.txt").write_text("mine")  # a user's file added to an earlier output
    with pytest.raises(OutputError, match=r"did not write \(notes.txt\)"):
        check_output_dir(ours, force=True)
    (tmp_path / "file").write_text("f")
    with pytest.raises(OutputError, match="not a directory"):
        check_output_dir(tmp_path / "file", force=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_output_dir(empty, force=True) == empty
    assert (mine / "thesis.tex").is_file() and (ours / "notes.txt").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "file", "mine", "ours"]  # no temporaries left


def test_an_out_that_appears_during_the_run_is_refused_or_replaced_only_with_force(tmp_path) -> None:
    out = tmp_path / "run"
    with pytest.raises(OutputError, match="appeared while this run was working"), atomic_output_dir(out) as tmp:
        (tmp / "new.txt").write_text("new")
        out.mkdir()
        (out / "theirs.txt").write_text("theirs")
    assert [p.name for p in out.iterdir()] == ["theirs.txt"]
    with pytest.raises(OutputError, match="not a vocabx output"), atomic_output_dir(tmp_path / "run2", force=True) as tmp:
        (tmp / "new.txt").write_text("new")
        (tmp_path / "run2").mkdir()
        (tmp_path / "run2" / "theirs.txt").write_text("theirs")
    assert [p.name for p in (tmp_path / "run2").iterdir()] == ["theirs.txt"]
    with atomic_output_dir(tmp_path / "run3", force=True) as tmp:
        (tmp / "new.txt").write_text("new")
        _vocabx_output(tmp_path / "run3", "old.txt")
    assert [p.name for p in (tmp_path / "run3").iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "run2", "run3"]


def test_of_two_runs_racing_for_one_out_exactly_one_wins(tmp_path) -> None:
    import threading

    out, barrier, results = tmp_path / "out", threading.Barrier(2), {}

    def run(name: str) -> None:
        try:
            with atomic_output_dir(out) as tmp:
                (tmp / "who.txt").write_text(name)
                barrier.wait()  # both have checked OUT and are about to publish
        except OutputError as exc:
            results[name] = str(exc)
        else:
            results[name] = "wrote"

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values())[1] == "wrote" and "appeared" in sorted(results.values())[0]
    winner = next(n for n, r in results.items() if r == "wrote")
    assert (out / "who.txt").read_text() == winner and [p.name for p in tmp_path.iterdir()] == ["out"]


def test_private_files_become_ordinary_but_hard_links_to_inputs_are_left_alone(tmp_path) -> None:
    """safetensors' save_file writes 0600 (a temp file renamed); an output file is as the umask says, like the
    rest. A file hard-linked from an input keeps its mode: changing it would change the input."""
    import os
    import stat

    import torch
    from safetensors.torch import save_file

    umask = os.umask(0o022)
    try:
        given = tmp_path / "input.bin"
        given.write_bytes(b"x")
        given.chmod(0o600)
        with atomic_output_dir(tmp_path / "run") as tmp:
            save_file({"w": torch.zeros(2)}, str(tmp / "model.safetensors"))
            (tmp / "notes.txt").write_text("n")
            (tmp / "script.sh").write_text("s")
            (tmp / "script.sh").chmod(0o755)
            os.link(given, tmp / "linked.bin")
    finally:
        os.umask(umask)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "run").iterdir()}
    assert modes == {"model.safetensors": 0o644, "notes.txt": 0o644, "script.sh": 0o755, "linked.bin": 0o600}
    assert stat.S_IMODE(given.stat().st_mode) == 0o600


def test_single_files_follow_the_umask_too(tmp_path) -> None:
    """The single-file writers (write_atomic, the GGUF export's atomic_file) make a 0600 temp file and rename it:
    the result has an ordinary file's mode under the umask, like a directory output's files, not a fixed 0644."""
    import os
    import stat

    from vocabx.export.to_gguf import atomic_file
    from vocabx.outputs import file_mode, write_text_atomic

    umask = os.umask(0o027)
    try:
        write_text_atomic(tmp_path / "a.json", "{}")
        with atomic_file(tmp_path / "b.gguf") as tmp:
            tmp.write_bytes(b"GGUF")
        assert file_mode() == 0o640
    finally:
        os.umask(umask)
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == {"a.json": 0o640, "b.gguf": 0o640}
