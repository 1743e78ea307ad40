"""The distributed path for real: two CPU processes (gloo) under `python -m torch.distributed.run`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_process_torchrun_cpt(tmp_path, tiny_model, corpora) -> None:
    ranks = tmp_path / "ranks"
    ranks.mkdir()
    out = tmp_path / "out"
    worker = Path(__file__).with_name("dist_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
           str(worker), str(tiny_model), str(corpora["domain"]), str(out), str(ranks)]
    # Own session, so that a hang kills the launcher and both workers, not only the launcher.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("two-process run hung (did the ranks join one process group?)")
    assert proc.returncode == 0, stderr[-3000:]
    records = [json.loads((ranks / f"rank-{r}.json").read_text()) for r in (0, 1)]
    assert [r["rank"] for r in records] == [0, 1] and all(r["world"] == 2 for r in records)
    assert all(r["finite"] and len(r["losses"]) == 4 for r in records)
    assert records[0]["global_batch"] == 2 * 2  # batch 2 per process x 2 processes
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["world_size"] == 2 and manifest["counts"]["tokens"] == 4 * 4 * 16
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4]  # one log, written by rank 0 only
