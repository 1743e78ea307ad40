"""Runs `vocabx ARGS...` with one fault injected at a precise point, as a separate process:
`python fault_worker.py FAULT AT -- train cpt MODEL ...`.

Faults: `kill` / `sigint` at a global training step (a real SIGKILL / SIGINT sent to this process);
`kill-in-save` / `enospc-in-save` on the AT-th safetensors write (a checkpoint's weights, or the final model):
half the file is written, then SIGKILL, or safetensors' own disk-full error; `kill-in-optimizer` /
`enospc-in-optimizer` on the AT-th optimizer.pt (torch.save's disk-full error); `enospc-in-log` on the AT-th
log.jsonl record (half a line, then ENOSPC); `kill-in-publish` on the AT-th file moved into the final OUT;
`kill-after-manifest` once the manifest is written; `kill-in-swap` before a staged --force run replaces OUT;
`slow` sleeps AT tenths of a second after each step (for a test that sends its own signal from outside).
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COUNTS: dict[str, int] = {}


def _nth(name: str, at: int) -> bool:
    COUNTS[name] = COUNTS.get(name, 0) + 1
    return COUNTS[name] == at


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _at_step(fault: str, at: int) -> None:
    from vocabx.train import engine

    real = engine.JsonlLog.on_step_end
    sig = signal.SIGKILL if fault == "kill" else signal.SIGINT

    def on_step_end(self, args, state, control, **kwargs):
        real(self, args, state, control, **kwargs)
        if self.stage.first_step + state.global_step == at:
            os.kill(os.getpid(), sig)

    engine.JsonlLog.on_step_end = on_step_end


def _in_safetensors(fault: str, at: int) -> None:
    import safetensors.torch as st
    from safetensors import SafetensorError

    real = st.save_file

    def save_file(tensors, filename, *args, **kwargs):
        if not _nth("save_file", at):
            return real(tensors, filename, *args, **kwargs)
        if fault == "enospc-in-save":
            Path(filename).write_bytes(b"\0" * 64)
            raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, '
                                  'message: "No space left on device" })')
        real(tensors, filename, *args, **kwargs)
        size = Path(filename).stat().st_size
        os.truncate(filename, size // 2)
        _die()

    st.save_file = save_file
    import peft.peft_model
    import transformers.modeling_utils

    for module in (transformers.modeling_utils, peft.peft_model):  # both import the function by name
        module.safe_save_file = save_file


def _in_optimizer(fault: str, at: int) -> None:
    import torch

    real = torch.save

    def save(obj, f, *args, **kwargs):
        if not str(f).endswith("optimizer.pt") or not _nth("optimizer", at):
            return real(obj, f, *args, **kwargs)
        Path(f).write_bytes(b"PK\0")
        if fault == "enospc-in-optimizer":
            raise RuntimeError("[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing file "
                               "data/3: file write failed")
        _die()

    torch.save = save


def _in_log(at: int) -> None:
    from vocabx.train import engine

    real = engine.JsonlLog.record

    def record(self, step, values):
        if not _nth("record", at):
            return real(self, step, values)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write('{"step": ' + str(step) + ', "los')
        raise OSError(errno.ENOSPC, "No space left on device", str(self.path))

    engine.JsonlLog.record = record


def _in_rundir(fault: str, at: int) -> None:
    from vocabx import outputs
    from vocabx.train import rundir

    if fault == "kill-in-publish":
        real_replace = os.replace

        def replace(src, dst, *args, **kwargs):
            if Path(src).parent.name == rundir.FINAL_TMP and _nth("publish", at):
                _die()
            return real_replace(src, dst, *args, **kwargs)

        rundir.os.replace = replace
    elif fault == "kill-after-manifest":
        rundir._tidy = lambda *a, **k: _die()
    elif fault == "kill-in-swap":
        real_publish = outputs.publish_dir

        def publish(done, out, **kwargs):
            if Path(done).name.endswith(rundir.STAGING_SUFFIX):
                _die()
            return real_publish(done, out, **kwargs)

        rundir.publish_dir = publish


def _slow(at: int) -> None:
    import time

    from vocabx.train import engine

    real = engine.JsonlLog.on_step_end

    def on_step_end(self, args, state, control, **kwargs):
        real(self, args, state, control, **kwargs)
        time.sleep(at / 10)

    engine.JsonlLog.on_step_end = on_step_end


def install(fault: str, at: int) -> None:
    if fault in ("kill", "sigint"):
        _at_step(fault, at)
    elif fault == "slow":
        _slow(at)
    elif fault in ("kill-in-save", "enospc-in-save"):
        _in_safetensors(fault, at)
    elif fault in ("kill-in-optimizer", "enospc-in-optimizer"):
        _in_optimizer(fault, at)
    elif fault == "enospc-in-log":
        _in_log(at)
    elif fault in ("kill-in-publish", "kill-after-manifest", "kill-in-swap"):
        _in_rundir(fault, at)
    elif fault != "none":
        raise SystemExit(f"unknown fault {fault}")


if __name__ == "__main__":
    fault, at, sep, *args = sys.argv[1:]
    assert sep == "--"
    install(fault, int(at))
    from vocabx.cli.main import main

    main(args, prog_name="vocabx")
