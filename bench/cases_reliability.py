"""The cases of bench/bench_reliability.py: data loss and --force, interrupted and resumed training, crashes on
plausible input, checks that must fail, and the seams between commands. Each returns (exit codes, outcome)."""

from __future__ import annotations

import json
import os
import shutil
import signal

from bench_reliability import SFT, TRAIN, Case, case, last_line, same_weights

CPT_BASE = ["train", "cpt", "model", "--data", "corpora/domain.txt"]
CPT = [*CPT_BASE, "--out", "new", *TRAIN]
SFT_RUN = ["train", "sft", "model", "--data", "sft.json", "--out", "new", *SFT]
EXTEND = ["extend", "base", "--terms", "terms.txt", "--budget", "20", "--corpus", "zh.txt"]


def code(*procs) -> str:
    out = []
    for p in procs:
        rc = p if isinstance(p, int) else p.returncode
        out.append(f"{rc} ({signal.Signals(-rc).name})" if rc < 0 else str(rc))
    return ", ".join(out)


def one(c: Case, *args: str, **kw) -> tuple[str, str]:
    proc = c.run(*args, **kw)
    return code(proc), last_line(proc)


def resumed(c: Case, first, args: list[str], baseline: str, note: str = "") -> tuple[str, str]:
    again = c.run(*args, "--resume")
    same = same_weights(c.dir / baseline, c.dir / "new") if again.returncode == 0 else False
    return code(first, again), f"{note}{'resumed: identical to the uninterrupted run' if same else 'NOT identical'}"


# -- data loss, --force, OUT ----------------------------------------------------------------------------------


@case("force-out-holds-the-corpus", "1", "analyze v/zh.txt -t base -o v --force")
def _(c):
    (c.dir / "v").mkdir()
    shutil.copy(c.dir / "zh.txt", c.dir / "v" / "zh.txt")
    (c.dir / "v" / "notes.txt").write_text("mine")
    return one(c, "analyze", "v/zh.txt", "-t", "base", "--min-freq", "2", "-o", "v", "--force", "--workers", "1")


@case("force-out-holds-the-base-tokenizer", "1", "extend victim/base_tok --out victim --force")
def _(c):
    (c.dir / "victim").mkdir()
    shutil.copytree(c.dir / "base", c.dir / "victim" / "base_tok")
    return one(c, "extend", "victim/base_tok", "--terms", "terms.txt", "--budget", "5", "--out", "victim", "--force")


@case("force-out-is-the-working-directory", "1", "extend base ... --out . --force")
def _(c):
    return one(c, *EXTEND, "--out", ".", "--force")


@case("force-out-is-above-the-working-directory", "1+", "extend ../base ... --out .. --force (from sub/)")
def _(c):
    (c.dir / "sub").mkdir()
    return one(c, "extend", "../base", "--terms", "../terms.txt", "--budget", "5", "--out", "..", "--force",
               cwd=c.dir / "sub")


@case("force-out-is-the-filesystem-root", "1+", "analyze zh.txt -t base -o / --force")
def _(c):
    return one(c, "analyze", "zh.txt", "-t", "base", "-o", "/", "--force")


@case("force-out-holds-training-data", "1+", "train cpt model --data corpora/domain.txt --out corpora --force")
def _(c):
    return one(c, "train", "cpt", "model", "--data", "corpora/domain.txt", "--out", "corpora", "--force", *TRAIN)


@case("force-out-is-the-bench-corpus-dir", "1+", "bench base --corpus corpora/ --out corpora --force")
def _(c):
    return one(c, "bench", "base", "--corpus", "corpora/", "--out", "corpora", "--force")


@case("force-out-is-the-eval-model", "1+", "eval model --domain zh.txt --out model --force")
def _(c):
    return one(c, "eval", "model", "--domain", "zh.txt", "--out", "model", "--force")


@case("force-merge-out-is-the-adapter", "1+", "train merge sftrun --out sftrun --force")
def _(c):
    return one(c, "train", "merge", "sftrun", "--out", "sftrun", "--force")


@case("force-onto-a-directory-vocabx-did-not-write", "1+", "extend ... --out thesis --force")
def _(c):
    (c.dir / "thesis").mkdir()
    (c.dir / "thesis" / "chapter1.tex").write_text("years of work")
    return one(c, *EXTEND, "--out", "thesis", "--force")


@case("force-onto-an-output-holding-a-user-file", "1+", "extend ... --out analysis --force (analysis/notes.txt)")
def _(c):
    (c.dir / "analysis" / "notes.txt").write_text("mine")
    return one(c, *EXTEND, "--out", "analysis", "--force")


@case("force-onto-a-file", "1+", "extend base --terms terms.txt ... --out zh.txt --force")
def _(c):
    return one(c, "extend", "base", "--terms", "terms.txt", "--budget", "5", "--out", "zh.txt", "--force")


@case("force-replaces-a-previous-output", "1+", "extend ... --out xmodel --force", replaces=("xmodel",))
def _(c):
    return one(c, "extend", "model", "--terms", "terms_model.txt", "--budget", "10", "--out", "xmodel", "--force")


@case("out-exists-without-force", "1+", "extend ... --out analysis")
def _(c):
    return one(c, *EXTEND, "--out", "analysis")


@case("out-inside-an-input-directory", "1+", "analyze corpora/ -t base -o corpora/out")
def _(c):
    return one(c, "analyze", "corpora/", "-t", "base", "-o", "corpora/out")


@case("out-is-a-symlink-to-an-input", "1+", "ln -s corpora link; analyze corpora/ -o link --force")
def _(c):
    os.symlink(c.dir / "corpora", c.dir / "link")
    return one(c, "analyze", "corpora/", "-t", "base", "-o", "link", "--force")


@case("out-under-a-regular-file", "1+", "extend ... --out zh.txt/out")
def _(c):
    return one(c, *EXTEND, "--out", "zh.txt/out")


@case("out-in-a-read-only-directory", "1+", "chmod 555 ro; extend ... --out ro/out")
def _(c):
    (c.dir / "ro").mkdir()
    os.chmod(c.dir / "ro", 0o555)
    try:
        if os.access(c.dir / "ro", os.W_OK):
            return "skipped", "running as a user who can write anywhere (root): no read-only directory to test"
        return one(c, *EXTEND, "--out", "ro/out")
    finally:
        os.chmod(c.dir / "ro", 0o755)


@case("out-appears-during-the-run", "2", "extend ... --out out; mkdir out; echo x > out/theirs.txt meanwhile")
def _(c):
    proc = c.start(*EXTEND, "--out", "out")
    c.wait_for(lambda: any(p.name.startswith(".out.tmp-") for p in c.dir.iterdir()), proc)
    (c.dir / "out").mkdir()
    (c.dir / "out" / "theirs.txt").write_text("theirs")
    rc = c.finish(proc)
    kept = (c.dir / "out" / "theirs.txt").read_text() == "theirs"
    return code(rc), f"{c.outputs[-1].strip().splitlines()[-1]}; their file kept: {kept}"


@case("two-extends-race-for-one-out", "2", "extend ... --out out & extend ... --out out", replaces=("out",))
def _(c):
    procs = [c.start(*EXTEND, "--out", "out") for _ in range(2)]
    codes = sorted(c.finish(p) for p in procs)
    loser = next((t for t in c.outputs if "Error" in t), "").strip().splitlines()
    return code(*codes), f"one wrote OUT; the other: {loser[-1] if loser else 'no error'}"


@case("force-train-killed-keeps-the-finished-run", "3", "train cpt ... --out run --force; kill -9 at step 3",
      replaces=(".run.next",))
def _(c):
    before = (c.dir / "run" / "manifest.json").read_bytes()
    first = c.run(*CPT_BASE, "--out", "run", *TRAIN, "--force", fault="kill", at=3)
    intact = (c.dir / "run" / "manifest.json").read_bytes() == before and (c.dir / "run" / "model.safetensors").exists()
    return code(first), f"the finished run in OUT untouched: {intact}; the new one staged in .run.next"


@case("force-train-completes-and-swaps", "3", "train cpt ... --out run --force", replaces=("run",))
def _(c):
    first = c.run(*CPT_BASE, "--out", "run", *TRAIN, "--force")
    staged = (c.dir / ".run.next").exists()
    return code(first), f"{last_line(first)}; staging left: {staged}"


# -- training runs that must resume -----------------------------------------------------------------------------


# name, issue, what happens, the run, its uninterrupted twin in the fixtures, fault (tests/fault_worker.py), at
FAULTS = [
    ("cpt-kill-9-between-checkpoints", "4", "kill -9 at step 3", CPT, "run", "kill", 3),
    ("cpt-kill-9-mid-checkpoint-weights", "4", "kill -9 with half of checkpoint-2's weights written", CPT, "run",
     "kill-in-save", 2),
    ("cpt-kill-9-mid-optimizer-state", "4", "kill -9 with half an optimizer.pt written", CPT, "run",
     "kill-in-optimizer", 1),
    ("cpt-kill-9-while-publishing", "4+", "kill -9 after some final files moved into OUT", CPT, "run",
     "kill-in-publish", 2),
    ("cpt-kill-9-after-the-manifest", "4+", "kill -9 once manifest.json is written", CPT, "run",
     "kill-after-manifest", 1),
    ("cpt-sigint", "5", "SIGINT at step 5", CPT, "run", "sigint", 5),
    ("cpt-disk-full-in-safetensors", "6", "ENOSPC from safetensors writing checkpoint weights", CPT, "run",
     "enospc-in-save", 3),
    ("cpt-disk-full-in-torch-save", "6", "torch.save's stream-writer failure on optimizer.pt", CPT, "run",
     "enospc-in-optimizer", 2),
    ("cpt-disk-full-in-the-log", "6+", "ENOSPC with half a log.jsonl line written", CPT, "run", "enospc-in-log", 4),
    ("sft-kill-9", "4+", "kill -9 at step 3", SFT_RUN, "sftrun", "kill", 3),
    ("sft-kill-9-mid-checkpoint", "4+", "kill -9 mid adapter save", SFT_RUN, "sftrun", "kill-in-save", 1),
    ("sft-sigint", "5+", "SIGINT at step 3", SFT_RUN, "sftrun", "sigint", 3),
    ("sft-disk-full", "6+", "ENOSPC writing the adapter", SFT_RUN, "sftrun", "enospc-in-save", 2),
]


def _fault_case(args: list[str], baseline: str, fault: str, at: int):
    def run(c: Case) -> tuple[str, str]:
        first = c.run(*args, fault=fault, at=at)
        said = "" if first.returncode < 0 else f"said: {last_line(first).removeprefix('Error: ')}; "
        return resumed(c, first, args, baseline, said)
    return run


for _name, _issue, _what, _args, _baseline, _fault, _at in FAULTS:
    case(_name, _issue, f"{' '.join(_args[:2])} ...; {_what}; --resume", replaces=("new",))(
        _fault_case(_args, _baseline, _fault, _at))


def _signal_from_outside(sig: signal.Signals):
    def run(c: Case) -> tuple[str, str]:
        proc = c.start(*CPT, fault="slow", at=5)
        log = c.dir / "new" / "log.jsonl"
        c.wait_for(lambda: log.is_file() and len(log.read_text().splitlines()) >= 3, proc)
        proc.send_signal(sig)
        return resumed(c, c.finish(proc), CPT, "run")
    return run


for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
    case(f"cpt-{_sig.name.lower()}-from-outside", "4+", f"train cpt ... & kill -{_sig.name[3:]} $! after 3 log "
         "records; --resume", replaces=("new",))(_signal_from_outside(_sig))


@case("resume-a-run-that-does-not-exist", "4+", "train cpt ... --out nothing --resume")
def _(c):
    return one(c, *CPT_BASE, "--out", "nothing", *TRAIN, "--resume")


@case("resume-with-another-learning-rate", "4+", "kill -9, then --resume --lr 0.01", replaces=("new",))
def _(c):
    first = c.run(*CPT, fault="kill", at=3)
    again = c.run(*CPT, "--resume", "--lr", "0.01")
    return code(first, again), last_line(again)


@case("resume-a-finished-run", "4+", "train cpt ... --out run --resume")
def _(c):
    return one(c, *CPT_BASE, "--out", "run", *TRAIN, "--resume")


@case("two-trainings-on-one-run", "2+", "train cpt --resume twice at once on one killed run", replaces=("new",))
def _(c):
    c.run(*CPT, fault="kill", at=3)
    procs = [c.start(*CPT, "--resume", fault="slow", at=3) for _ in range(2)]
    codes = sorted(c.finish(p) for p in procs)
    refused = [t for t in c.outputs if "another process is training" in t]
    return code(*codes), f"one finished; the other refused ({len(refused)} said: another process is training)"


@case("short-run-loss-and-log", "18", "train cpt ... --max-steps 3 --log-steps 10", replaces=("new",))
def _(c):
    proc = c.run(*CPT_BASE, "--out", "new", "--block-size", "16", "--max-steps", "3", "--log-steps", "10",
                 "--method", "full", "--embed-steps", "0")
    manifest = json.loads((c.dir / "new" / "manifest.json").read_text())
    logged = (c.dir / "new" / "log.jsonl").is_file() == ("log.jsonl" in manifest["outputs"])
    return code(proc), f"{last_line(proc)}; log.jsonl listed only if written: {logged}; " \
                       f"{[ln for ln in proc.stdout.splitlines() if 'loss' in ln][0].split(';')[-1].strip()}"
