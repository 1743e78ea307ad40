"""Hostile and new-user cases against the `vocabx` CLI, each in a fresh scratch directory, each a real process:
its exit code, its last line, whether it printed a traceback, and whether any file that existed before it was
lost or changed (other than the OUT it was told to replace). Issue 15's 18 cases and more.

    python bench/bench_reliability.py                 # writes bench/results/reliability.md
    python bench/bench_reliability.py --only force    # the cases whose name holds `force`

Baseline for the training cases: the same run uninterrupted, in the same scratch tree; "identical" means every
tensor of the final safetensors files is bit-equal (torch.equal). Signals are real (SIGKILL, SIGINT, SIGTERM sent
to the process); a kill "mid-save" or a full disk is injected at an exact point by tests/fault_worker.py.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("VOCABX_SHARED_DATA") or REPO.parent / "shared" / "data")
WORKER = REPO / "tests" / "fault_worker.py"
TRAIN = ["--block-size", "16", "--batch-size", "4", "--save-steps", "2", "--log-steps", "1", "--seed", "3",
         "--method", "full", "--embed-steps", "2", "--max-steps", "6"]
SFT = ["--batch-size", "2", "--max-steps", "4", "--save-steps", "2", "--log-steps", "1", "--seed", "5"]


@dataclass
class Outcome:
    name: str
    issue: str
    command: str
    code: str
    result: str
    lost: list[str]
    traceback: bool
    seconds: float


class Case:
    """A scratch directory with the fixtures copied in, and helpers that run vocabx there."""

    def __init__(self, root: Path, fixtures: Path) -> None:
        self.dir = root
        shutil.copytree(fixtures, root, symlinks=True)
        self.outputs: list[str] = []

    def run(self, *args: str, fault: str | None = None, at: int = 0, cwd: Path | None = None,
            timeout: int = 600) -> subprocess.CompletedProcess:
        cmd = [sys.executable, str(WORKER), fault, str(at), "--", *args] if fault else [sys.executable, "-m",
                                                                                          "vocabx.cli", *args]
        proc = subprocess.run(cmd, cwd=cwd or self.dir, capture_output=True, text=True, timeout=timeout, env=_env())
        self.outputs.append(proc.stdout + proc.stderr)
        return proc

    def start(self, *args: str, fault: str = "none", at: int = 0) -> subprocess.Popen:
        cmd = [sys.executable, str(WORKER), fault, str(at), "--", *args]
        return subprocess.Popen(cmd, cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=_env())

    def finish(self, proc: subprocess.Popen) -> int:
        out, err = proc.communicate(timeout=600)
        self.outputs.append(out + err)
        return proc.returncode

    def wait_for(self, condition: Callable[[], bool], proc: subprocess.Popen, seconds: float = 300) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and proc.poll() is None and not condition():
            time.sleep(0.05)


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
            "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def last_line(proc: subprocess.CompletedProcess) -> str:
    """What the command said last: its error, or on success its `wrote ...` line (library noise left out)."""
    lines = [line.strip() for line in (proc.stdout + proc.stderr).splitlines()
             if line.strip() and "%|" not in line and not line.startswith(("[transformers]", "WARNING", "  model:"))]
    wrote = [line for line in lines if line.startswith("wrote ")]
    return wrote[-1] if proc.returncode == 0 and wrote else lines[-1] if lines else ""


def snapshot(root: Path) -> dict[str, str]:
    out = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def same_weights(a: Path, b: Path) -> bool:
    import torch
    from safetensors.torch import load_file

    names = sorted(p.name for p in a.glob("*.safetensors"))
    if not names or names != sorted(p.name for p in b.glob("*.safetensors")):
        return False
    for name in names:
        x, y = load_file(a / name), load_file(b / name)
        if x.keys() != y.keys() or not all(torch.equal(x[k], y[k]) for k in x):
            return False
    return True


CASES: list[tuple[str, str, str, Callable[[Case], tuple[str, str]], tuple[str, ...]]] = []


def case(name: str, issue: str, command: str, replaces: tuple[str, ...] = ()):
    """Register a case: `replaces` are paths the case itself changes on purpose (a file it corrupts or moves to set
    the case up, the OUT it tells vocabx to replace); any other file that changes counts as lost."""
    def register(func: Callable[[Case], tuple[str, str]]) -> Callable[[Case], tuple[str, str]]:
        CASES.append((name, issue, command, func, replaces))
        return func
    return register


def build_fixtures(root: Path) -> Path:
    """The files every case starts from: corpora, a tiny tokenizer, a tiny model, an analysis, a finished run."""
    from tests._builders import base_bpe
    from tests._tiny_llama import write_corpora, write_tiny_model
    from tests.test_reliability_cli import ZH, english

    fx = root / "fixtures"
    fx.mkdir()
    (fx / "base").mkdir()
    (fx / "base" / "tokenizer.json").write_text(base_bpe().json_text, encoding="utf-8")
    (fx / "zh.txt").write_text("\n".join(ZH * 40) + "\n", encoding="utf-8")
    (fx / "en.txt").write_text("\n".join(english()) + "\n", encoding="utf-8")
    (fx / "terms.txt").write_text("头孢克肟\n糖尿病\n高血压\n", encoding="utf-8")
    (fx / "terms_model.txt").write_text("检查药物\n治疗症状\n医生患者\n", encoding="utf-8")
    with open(SHARED / "corpora/medical-zh/dialogues.csv", encoding="utf-8", errors="replace") as src, \
            open(fx / "dialogues.csv", "w", encoding="utf-8", newline="") as dst:
        rows = csv.reader(src)
        writer = csv.writer(dst)
        for i, row in enumerate(rows):
            if i > 400:
                break
            writer.writerow(row)
    write_tiny_model(fx / "model")
    corpora = write_corpora(fx / "corpora")
    alpaca = [{"instruction": f"患者 {w} 血压", "input": "", "output": f"治疗 {w} 药物"}
              for w in ["高血压", "糖尿病", "胰岛素", "心电图", "抗生素", "hypertension"] * 3]
    (fx / "sft.json").write_text(json.dumps(alpaca, ensure_ascii=False), encoding="utf-8")
    runner = Case.__new__(Case)
    runner.dir, runner.outputs = fx, []
    for args in (["analyze", "dialogues.csv", "--text-field", "title,ask,answer", "-t", "base", "--min-freq", "3",
                  "-o", "analysis", "--workers", "1"],
                 ["train", "cpt", "model", "--data", str(corpora["domain"]), "--out", "run", *TRAIN],
                 ["train", "sft", "model", "--data", "sft.json", "--out", "sftrun", *SFT],
                 ["extend", "model", "--terms", "terms_model.txt", "--budget", "10", "--out", "xmodel"]):
        proc = runner.run(*args)
        if proc.returncode != 0:
            raise SystemExit(f"fixture failed: {' '.join(args)}\n{proc.stderr[-2000:]}")
    return fx


def main() -> None:
    import cases_reliability  # noqa: F401  (registers the cases)
    import cases_reliability_inputs  # noqa: F401

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="Run only the cases whose name contains this.")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "reliability.md"))
    args = parser.parse_args()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="vocabx-reliability-") as tmp:
        fixtures = build_fixtures(Path(tmp))
        outcomes = [run_case(Path(tmp), fixtures, *spec) for spec in CASES if args.only in spec[0]]
    write_report(outcomes, Path(args.out), time.time() - started, args.only)


def run_case(tmp: Path, fixtures: Path, name: str, issue: str, command: str,
             func: Callable[[Case], tuple[str, str]], replaces: tuple[str, ...]) -> Outcome:
    c = Case(tmp / name, fixtures)
    before = snapshot(c.dir)
    started = time.perf_counter()
    try:
        code, result = func(c)
    except Exception as exc:  # noqa: BLE001 - the harness's own failure is a result too, shown as such
        code, result = "harness", f"{type(exc).__name__}: {exc}"[:200]
    seconds = time.perf_counter() - started
    result = result.replace(f"{c.dir}/", "").replace(str(c.dir), ".")[:400]  # paths relative to the scratch dir
    after = snapshot(c.dir)
    lost = sorted(p for p, digest in before.items()
                  if after.get(p) != digest and not any(p == r or p.startswith(r + "/") for r in replaces))
    traceback = any("Traceback (most recent call last)" in text for text in c.outputs)
    print(f"{name:45s} {code:>8s}  {'LOST ' + str(lost) if lost else ''}{' TRACEBACK' if traceback else ''} {result}",
          flush=True)
    shutil.rmtree(c.dir, ignore_errors=True)
    return Outcome(name, issue, command, code, result, lost, traceback, seconds)


def write_report(outcomes: list[Outcome], path: Path, seconds: float, only: str) -> None:
    lost = sum(1 for o in outcomes if o.lost)
    tracebacks = sum(1 for o in outcomes if o.traceback)
    lines = [
        "# Reliability: hostile and new-user cases (`vocabx` CLI)", "",
        "```", "python bench/bench_reliability.py" + (f" --only {only}" if only else ""), "```", "",
        f"{len(outcomes)} cases, each a fresh scratch directory and real `vocabx` processes (signals are real; a kill "
        "mid-save or a full disk is injected at an exact point by `tests/fault_worker.py`). **Lost or changed files "
        f"that existed before: {lost} cases. Tracebacks printed: {tracebacks} cases.** \"Identical\": every tensor of "
        "the resumed run's final safetensors equals the uninterrupted run's (torch.equal). Issue: the case number "
        "in issue 15 (`+`: a case added here). Machine: "
        f"{os.cpu_count()}-core {platform.machine()} CPU, shared with other jobs; {seconds / 60:.1f} minutes in all.", "",
        "| # | case | issue | command (in the scratch dir) | exit | outcome | files lost | traceback |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, o in enumerate(outcomes, 1):
        cells = [str(i), o.name, o.issue, f"`{o.command}`", o.code, o.result.replace("|", "\\|"),
                 ", ".join(o.lost) or "none", "yes" if o.traceback else "no"]
        lines.append("| " + " | ".join(cells) + " |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path}: {len(outcomes)} cases, {lost} losing data, {tracebacks} with a traceback")


if __name__ == "__main__":
    # The case modules register into this module by its name, so run it under that name, not as __main__.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_reliability

    bench_reliability.main()
