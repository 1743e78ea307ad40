"""Kills (SIGKILL), Ctrl-C (SIGINT) and a full disk at many points of `vocabx train cpt` and `train sft`: each
leaves a run that `--resume` finishes with weights bit-identical to an uninterrupted run, and the messages say
truthfully what was kept. Kills run in a subprocess (tests/fault_worker.py); disk-full faults in process."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from vocabx.cli import main

WORKER = Path(__file__).with_name("fault_worker.py")
pytestmark = pytest.mark.slow


def cpt_args(model: Path, data: dict[str, Path], out: Path, *extra: str) -> list[str]:
    """Embeddings stage (2 steps) then full training (4 steps), a checkpoint every 2 steps, 20% replay."""
    return ["train", "cpt", str(model), "--data", str(data["domain"]), "--replay", str(data["general"]),
            "--out", str(out), "--block-size", "16", "--batch-size", "4", "--save-steps", "2", "--log-steps", "1",
            "--seed", "3", "--method", "full", "--embed-steps", "2", "--max-steps", "6", *extra]


def sft_args(model: Path, files: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["train", "sft", str(model), "--data", str(files["alpaca"]), "--out", str(out), "--batch-size", "2",
            "--max-steps", "4", "--save-steps", "2", "--log-steps", "1", "--seed", "5", "--method", "lora", *extra]


def run_cli(args: list[str]):
    return CliRunner().invoke(main, args)


def run_worker(fault: str, at: int, args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run([sys.executable, str(WORKER), fault, str(at), "--", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def assert_same_weights(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.glob("*.safetensors"))
    assert names and names == sorted(p.name for p in b.glob("*.safetensors"))
    for name in names:
        x, y = load_file(a / name), load_file(b / name)
        assert x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x), f"{name} differs"


def assert_finished_cleanly(out: Path, steps: int) -> None:
    assert (out / "manifest.json").is_file()
    assert not any((out / n).exists() for n in ("checkpoints", "train_config.json", ".final.tmp"))
    assert not out.with_name(f".{out.name}.next").exists()
    logged = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert logged == list(range(1, steps + 1))  # nothing lost, nothing logged twice
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]
    assert leftovers == []


@pytest.fixture(scope="module")
def cpt_baseline(tmp_path_factory, tiny_model, corpora) -> Path:
    out = tmp_path_factory.mktemp("baseline") / "cpt"
    result = run_cli(cpt_args(tiny_model, corpora, out))
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("fault,at", [
    ("kill", 3),  # between checkpoints of the second stage
    ("kill-in-save", 2),  # half of full/checkpoint-2's weights written
    ("kill-in-optimizer", 1),  # embed/checkpoint-2 has its weights, half an optimizer.pt, no trainer_state.json
    ("kill-in-publish", 2),  # some final files moved into OUT, others not
    ("kill-after-manifest", 1),  # complete, but checkpoints and train_config.json not yet removed
])
def test_cpt_killed_anywhere_resumes_bit_identical(tmp_path, tiny_model, corpora, cpt_baseline, fault, at) -> None:
    out = tmp_path / "run"
    args = cpt_args(tiny_model, corpora, out)
    proc = run_worker(fault, at, args)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    again = run_cli(args)
    assert again.exit_code == 1 and "already exists" in again.output
    assert ("--resume" in again.output) == (fault != "kill-after-manifest")  # that one is complete already
    resumed = run_cli([*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert "Traceback" not in resumed.output
    if fault == "kill-after-manifest":
        assert "had already finished" in resumed.output
    assert_same_weights(cpt_baseline, out)
    assert_finished_cleanly(out, 6)


def test_cpt_sigint_says_what_was_kept_and_resumes(tmp_path, tiny_model, corpora, cpt_baseline) -> None:
    out = tmp_path / "run"
    args = cpt_args(tiny_model, corpora, out)
    proc = run_worker("sigint", 5, args)  # global step 5: the second stage's checkpoint-2 is the last
    assert proc.returncode == 130, proc.stderr[-2000:]
    assert "kept checkpoints embed/checkpoint-2, full/checkpoint-2" in proc.stderr
    assert "--resume" in proc.stderr and "no partial output" not in proc.stderr and "Traceback" not in proc.stderr
    resumed = run_cli([*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert_same_weights(cpt_baseline, out)
    assert_finished_cleanly(out, 6)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_a_signal_from_outside_mid_run(tmp_path, tiny_model, corpora, cpt_baseline, sig) -> None:
    out = tmp_path / "run"
    args = cpt_args(tiny_model, corpora, out)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen([sys.executable, str(WORKER), "slow", "5", "--", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    log = out / "log.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if log.is_file() and len(log.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == (130 if sig == signal.SIGINT else -sig), stderr[-2000:]
    assert "Traceback" not in stderr
    resumed = run_cli([*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert_same_weights(cpt_baseline, out)


def test_force_keeps_the_finished_run_until_the_new_one_completes(tmp_path, tiny_model, corpora, cpt_baseline) -> None:
    out = tmp_path / "run"
    shutil.copytree(cpt_baseline, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    args = cpt_args(tiny_model, corpora, out, "--force")
    proc = run_worker("kill", 3, args)
    assert proc.returncode == -signal.SIGKILL
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the finished run is untouched
    assert (tmp_path / ".run.next" / "train_config.json").is_file()
    resumed = run_cli([*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert_same_weights(cpt_baseline, out)
    assert_finished_cleanly(out, 6)
    assert (out / "manifest.json").read_bytes() != before["manifest.json"]  # the new run is in place
    # Killed between completing and swapping in: OUT still holds a complete run; --resume finishes the swap.
    before = (out / "manifest.json").read_bytes()
    assert run_worker("kill-in-swap", 1, args).returncode == -signal.SIGKILL
    assert (out / "manifest.json").read_bytes() == before
    finished = run_cli([*args, "--resume"])
    assert finished.exit_code == 0 and "had already finished" in finished.output, finished.output
    assert (out / "manifest.json").read_bytes() != before
    assert_same_weights(cpt_baseline, out)
    assert_finished_cleanly(out, 6)


def test_force_refuses_a_directory_vocabx_did_not_write(tmp_path, tiny_model, corpora) -> None:
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("years of work")
    result = run_cli(cpt_args(tiny_model, corpora, out, "--force"))
    assert result.exit_code == 1 and "not a vocabx output" in result.output
    assert (out / "chapter1.tex").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]


def _fail_once(nth: int, error: Exception, real):
    calls = {"n": 0}

    def fake(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == nth:
            raise error
        return real(*args, **kwargs)

    return fake


def _disk_full_in(monkeypatch, where: str) -> None:
    import transformers.modeling_utils as mu
    from safetensors import SafetensorError

    from vocabx.train import engine

    if where == "weights":
        error = SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No '
                                'space left on device" })')
        monkeypatch.setattr(mu, "safe_save_file", _fail_once(3, error, mu.safe_save_file))
    elif where == "optimizer":
        error = RuntimeError("[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing file "
                             "data/3: file write failed")
        real = torch.save

        def save(obj, f, *args, **kwargs):
            if str(f).endswith("optimizer.pt") and "full" in str(f):  # the second stage's first checkpoint
                raise error
            return real(obj, f, *args, **kwargs)

        monkeypatch.setattr(torch, "save", save)
    else:
        real_record = engine.JsonlLog.record

        def torn(self, step, values):
            if step == 4:
                with open(self.path, "a", encoding="utf-8") as fh:
                    fh.write('{"step": 4, "lo')
                raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
            return real_record(self, step, values)

        monkeypatch.setattr(engine.JsonlLog, "record", torn)


@pytest.mark.parametrize("where", ["weights", "optimizer", "log"])
def test_cpt_disk_full_is_one_line_then_resume_finishes(tmp_path, monkeypatch, tiny_model, corpora, cpt_baseline,
                                                        where) -> None:
    out = tmp_path / "run"
    args = cpt_args(tiny_model, corpora, out)
    with monkeypatch.context() as patch:
        _disk_full_in(patch, where)
        result = run_cli(args)
    assert result.exit_code == 1 and "disk full" in result.output, result.output
    assert "--resume" in result.output and "Traceback" not in result.output
    assert not any(not (p / "trainer_state.json").is_file() for p in (out / "checkpoints").glob("*/checkpoint-*"))
    resumed = run_cli([*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert_same_weights(cpt_baseline, out)
    assert_finished_cleanly(out, 6)


@pytest.fixture(scope="module")
def sft_baseline(tmp_path_factory, tiny_model, sft_files) -> Path:
    out = tmp_path_factory.mktemp("baseline") / "sft"
    result = run_cli(sft_args(tiny_model, sft_files, out))
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("fault,at", [("kill", 3), ("kill-in-save", 1), ("sigint", 3)])
def test_sft_interrupted_resumes_bit_identical(tmp_path, tiny_model, sft_files, sft_baseline, fault, at) -> None:
    out = tmp_path / "run"
    args = sft_args(tiny_model, sft_files, out)
    proc = run_worker(fault, at, args)
    assert proc.returncode == (130 if fault == "sigint" else -signal.SIGKILL), proc.stderr[-2000:]
    if fault == "sigint":
        assert "kept checkpoints lora/checkpoint-2" in proc.stderr and "Traceback" not in proc.stderr
    resumed = run_cli([*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert_same_weights(sft_baseline, out)
    assert_finished_cleanly(out, 4)


def test_sft_disk_full_then_resume(tmp_path, monkeypatch, tiny_model, sft_files, sft_baseline) -> None:
    import peft.peft_model
    from safetensors import SafetensorError

    out = tmp_path / "run"
    args = sft_args(tiny_model, sft_files, out)
    error = SafetensorError("Error while serializing: IoError(Os { code: 28, kind: StorageFull })")
    with monkeypatch.context() as patch:
        patch.setattr(peft.peft_model, "safe_save_file", _fail_once(2, error, peft.peft_model.safe_save_file))
        result = run_cli(args)
    assert result.exit_code == 1 and "disk full" in result.output and "lora/checkpoint-2" in result.output
    resumed = run_cli([*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert_same_weights(sft_baseline, out)
    assert_finished_cleanly(out, 4)


def test_a_ctrl_c_that_compiled_code_drops_still_stops_the_run(tmp_path) -> None:
    """The KeyboardInterrupt of a SIGINT can be dropped by code that checks for signals itself; the flag the
    handler sets makes the next step end raise it again, and the run ends as an interruption."""
    from vocabx.errors import Interrupted
    from vocabx.train.engine import StopOnCtrlC
    from vocabx.train.rundir import guarded_run, interrupt_pending

    previous = signal.getsignal(signal.SIGINT)
    (tmp_path / "checkpoints").mkdir()
    with pytest.raises(Interrupted, match="interrupted"), guarded_run(tmp_path):
        with contextlib.suppress(KeyboardInterrupt):  # what compiled code that drops the exception does
            signal.raise_signal(signal.SIGINT)
        assert interrupt_pending()
        StopOnCtrlC().on_step_end(None, None, None)
    assert not interrupt_pending() and signal.getsignal(signal.SIGINT) is previous
