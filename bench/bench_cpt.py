"""The continued-pretraining experiment of `vocabx train`: base SmolLM2 (its own tokenizer) versus SmolLM2 extended
for medical Chinese, each trained on the same number of domain characters, with no replay and with general-English
replay; domain and general bits per character before and after, chars/token and decoding chars/s.

Baselines, in the same run: the base `smollm2-135m` trained the same way (same domain characters, same replay ratio,
same optimiser and schedule), and both models untrained ("before").

Data: training rows of medical-zh/dialogues.csv (index % 10 != 0), read up to --domain-chars characters; held-out
rows index % 10 == 0 for domain bits/char. Replay: general-en/c4_demo.jsonl (English web text). General held-out:
general-en/wiki_demo.txt (English Wikipedia, a different source than the replay, so it measures English in general).

    python bench/bench_cpt.py --work /tmp/cpt-work     # ~1-1.5 h on a quiet 2-core CPU; reruns skip finished runs

Writes bench/results/cpt.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_eval import split_dialogues
from checks import same_text_scored

from vocabx.eval import EvalConfig
from vocabx.eval.api import evaluate

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOCABX_SHARED_DATA") or REPO.parent / "shared" / "data")
C4 = SHARED / "corpora" / "general-en" / "c4_demo.jsonl"
WIKI = SHARED / "corpora" / "general-en" / "wiki_demo.txt"
RESULTS = REPO / "bench" / "results" / "cpt.md"
BASE = "smollm2-135m"


PLACEMENT: dict[str, str] = {}  # --threads / --cpus, set in main()


def vocabx(log: Path, *args: str) -> float:
    """Run a vocabx command as a user would, its output in `log`; return its wall time.

    On a machine shared with other work, two torch threads per run collapse (each OpenMP barrier waits for a
    preempted thread: 6 s steps became 38 s); a run pinned to its own core with one thread keeps a steady pace."""
    exe = shutil.which("vocabx") or str(Path(sys.executable).with_name("vocabx"))
    env = dict(os.environ)
    if PLACEMENT.get("threads"):
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = PLACEMENT["threads"]
    prefix = ["taskset", "-c", PLACEMENT["cpus"]] if PLACEMENT.get("cpus") else []
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as fh:
        fh.write("$ vocabx " + " ".join(shlex.quote(a) for a in args) + "\n")
        fh.flush()
        subprocess.run([*prefix, exe, *args], check=True, stdout=fh, stderr=subprocess.STDOUT, env=env)
    return time.perf_counter() - started


def extend(work: Path, train: Path, budget: int) -> Path:
    out = work / "ext"
    if not (out / "manifest.json").exists():
        vocabx(work / "extend.log", "extend", BASE, "--mode", "train", "--corpus", str(train), "--corpus-max-chars",
               "1000000", "--budget", str(budget), "--check-docs", "200", "--out", str(out), "--force")
    return out


def cpt(work: Path, name: str, model: str, train: Path, args: argparse.Namespace, replay: bool,
        shape: tuple[int, int], new_rows: bool, lr: float | None = None) -> Path:
    """One training run with blocks of shape[0] tokens, shape[1] per step; skipped when its manifest exists."""
    out = work / name
    if (out / "manifest.json").exists():
        return out
    block, batch = shape
    flags = ["train", "cpt", model, "--data", str(train), "--max-chars", str(args.domain_chars),
             "--method", args.method, "--lr", str(lr or args.lr), "--block-size", str(block),
             "--batch-size", str(batch), "--warmup-steps", str(args.warmup_steps),
             "--save-steps", "1000000", "--log-steps", "5", "--seed", "42", "--out", str(out), "--force"]
    if replay:
        flags += ["--replay", str(C4), "--replay-ratio", str(args.replay_ratio)]
    if new_rows:
        flags += ["--embed-lr", str(args.embed_lr), *_embed_flags(model, train, args, shape, replay)]
    vocabx(work / f"{name}.log", *flags)
    return out


def _embed_flags(model: str, train: Path, args: argparse.Namespace, shape: tuple[int, int], replay: bool) -> list[str]:
    """The embeddings stage gets --embed-share of the steps the run will take (the same data either way)."""
    from transformers import AutoTokenizer

    from vocabx.corpus import CorpusConfig, open_corpus

    tok = AutoTokenizer.from_pretrained(model)
    tokens = sum(len(tok(t, add_special_tokens=False)["input_ids"]) + 1
                 for t in open_corpus([str(train)], CorpusConfig(max_chars=args.domain_chars)).texts())
    ratio = args.replay_ratio if replay else 0.0
    steps = int(tokens // shape[0] / (1 - ratio)) // shape[1]
    return ["--embed-steps", str(max(1, int(steps * args.embed_share)))]


def manifest(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text(encoding="utf-8"))


def measure(work: Path, name: str, model: Path | str, base: Path | str | None, held: Path, args: argparse.Namespace) -> dict:
    """`evaluate` of one model next to its counterpart, cached as JSON under work/."""
    cache = work / f"eval-{name}.json"
    if cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    result = evaluate(EvalConfig(
        model=str(model), base=str(base) if base else None, model_label="extended", base_label="base", domain=(f"med={held}",),
        general=(f"en-wiki={WIKI}",), max_docs=args.eval_docs, max_chars=args.eval_chars,
        decode_tokens=args.decode_tokens, decode_prompts=args.decode_prompts, threads=1)).to_dict()
    cache.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return result


def rows_of(result: dict) -> dict[tuple[str, str], dict]:
    return {(r["tokenizer"], r["corpus"]): r for r in result["rows"]}


def report(work: Path, args: argparse.Namespace, results: dict[str, dict], runs: dict[str, Path]) -> str:
    command = ("python bench/bench_cpt.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])).strip()
    before = rows_of(results["before"])
    lines = [
        "## Continued pretraining: base vs extended SmolLM2, with and without replay", "",
        f"Command: `{command}`  ",
        f"Machine: 2-core CPU ({platform.machine()}), 24 GB, torch {_torch()} float32; no GPU was lent to this task.",
        "",
        (f"Setup: SmolLM2-135M-Instruct (`{BASE}`) and the same model extended by `vocabx extend --mode train "
        f"--budget {args.budget}` on the training rows (new rows initialized `subword-mean`). Each trained by "
        f"`vocabx train cpt --method {args.method} --lr {args.lr}` on the first {args.domain_chars:,} characters of "
        f"the training rows (index % 10 != 0 of medical-zh/dialogues.csv), one pass, cosine schedule; the base in "
        f"blocks of {args.block_size} tokens x batch {args.batch_size}, the extended model in blocks of "
        f"{args.ext_block_size} x {args.ext_batch_size} (about the same characters per block and per step, so both "
        f"take about the same number of steps over the same text), {args.warmup_steps} warm-up steps; the extended model "
        f"first trains only its new rows for {args.embed_share:.0%} of its steps (lr {args.embed_lr}). Replay runs "
        f"interleave general English (general-en/c4_demo.jsonl) at ratio {args.replay_ratio}. Evaluation: domain "
        f"= {args.eval_docs} held-out rows (index % 10 == 0), at most {args.eval_chars:,} characters; general = "
        f"English Wikipedia (general-en/wiki_demo.txt, not the replay source), same limits. Decoding: greedy, "
        f"{args.decode_tokens} new tokens from each of {args.decode_prompts} held-out domain prompts, 1 torch thread, "
        f"measured in the same `evaluate` call for the pair."), "",
        ("| model | training | domain chars trained | tokens trained | steps | train s | domain bits/char | "
        "general (en) bits/char | general vs untrained | chars/token (domain) | decode chars/s | decode tokens/s | "
        "new-token share of output |"),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    untrained_general = {"base": before[("base", "en-wiki")]["bits_per_char"],
                         "extended": before[("extended", "en-wiki")]["bits_per_char"]}
    for regime, label in (("before", "none (untrained)"), ("r0", "CPT, replay 0"),
                          ("replay", f"CPT, replay {args.replay_ratio}")):
        result = results[regime]
        rows = rows_of(result)
        for side in ("base", "extended"):
            dom, gen = rows[(side, "med")], rows[(side, "en-wiki")]
            run = runs.get(f"{side}-{regime}")
            m = manifest(run)["counts"] if run else {}
            share = result["usage"]["new_token_share"] if side == "extended" and result.get("usage") else None
            change = gen["bits_per_char"] / untrained_general[side] - 1
            lines.append(
                f"| {side} | {label} | {_n(m.get('domain_chars'))} | {_n(m.get('tokens'))} | {_n(m.get('steps'))} | "
                f"{_n(m.get('seconds'))} | {dom['bits_per_char']:.4f} | {gen['bits_per_char']:.4f} | "
                f"{change:+.1%} | {dom['eval_chars_per_token']:.3f} | {_f(dom.get('decode_chars_per_s'))} | "
                f"{_f(dom.get('decode_tokens_per_s'))} | {'-' if share is None else f'{share:.1%}'} |")
    for name, what in extras(args):
        dom, gen = (rows_of(results[name])[("extended", c)] for c in ("med", "en-wiki"))
        m = manifest(runs[f"extended-{name}"])["counts"]
        lines.append(
            f"| extended, {what} | CPT, replay 0 | {_n(m.get('domain_chars'))} | {_n(m.get('tokens'))} | "
            f"{_n(m.get('steps'))} | {_n(m.get('seconds'))} | {dom['bits_per_char']:.4f} | {gen['bits_per_char']:.4f} | "
            f"{gen['bits_per_char'] / untrained_general['extended'] - 1:+.1%} | {dom['eval_chars_per_token']:.3f} | "
            f"{_f(dom.get('decode_chars_per_s'))} | {_f(dom.get('decode_tokens_per_s'))} | "
            f"{results[name]['usage']['new_token_share']:.1%} |")
    lines += ["", *verdict(results, args), "", *curve_table(runs), ""]
    return "\n".join(lines)


def extras(args: argparse.Namespace) -> list[tuple[str, str]]:
    """Extra no-replay runs of the extended model: (result name, what differs from the main extended run)."""
    out = [("r0-b256", f"base's block shape ({args.block_size} x {args.batch_size})")] if args.token_shape_run else []
    return out + [(f"r0-lr{lr:g}", f"lr {lr:g}") for lr in args.ext_lr_variant]


def verdict(results: dict[str, dict], args: argparse.Namespace) -> list[str]:
    """The three comparisons the experiment is for, computed from the table's own numbers."""
    out = ["Read-out (each ratio from one `evaluate` call, so the two sides ran back to back):", ""]
    before = rows_of(results["before"])
    for regime in ("r0", "replay"):
        rows = rows_of(results[regime])
        ext, base = rows[("extended", "med")], rows[("base", "med")]
        speed = ext["decode_chars_per_s"] / base["decode_chars_per_s"]
        bpc = ext["bits_per_char"] / base["bits_per_char"] - 1
        out.append(f"- {regime}: extended decodes {speed:.2f}x the base's chars/s (goal >= 1.8x); domain bits/char "
                   f"{ext['bits_per_char']:.4f} vs base {base['bits_per_char']:.4f} ({bpc:+.1%}; goal: no worse).")
    for side in ("base", "extended"):
        untrained = before[(side, "en-wiki")]["bits_per_char"]
        r0 = rows_of(results["r0"])[(side, "en-wiki")]["bits_per_char"] / untrained - 1
        rp = rows_of(results["replay"])[(side, "en-wiki")]["bits_per_char"] / untrained - 1
        out.append(f"- general English bits/char, {side}: no replay {r0:+.1%}, replay {args.replay_ratio} {rp:+.1%} "
                   f"against the untrained model (goal: replay within a few percent, no replay not).")
    return out


def training_bpc(run: Path) -> list[tuple[float, float]]:
    """(domain characters so far, bits/char of the training loss over the last log interval) from log.jsonl: the
    loss is nats per token on blocks not yet trained on (one pass), so tokens/chars of the interval converts it."""
    points, last = [], {"tokens": 0, "chars": 0.0}
    for line in (run / "log.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if "loss" not in rec or rec.get("chars", 0) <= last["chars"]:
            continue
        tokens, chars = rec["tokens"] - last["tokens"], rec["chars"] - last["chars"]
        points.append((rec["chars"], rec["loss"] * tokens / chars / math.log(2)))
        last = rec
    return points


def curve_table(runs: dict[str, Path]) -> list[str]:
    """Training-loss bits/char of the no-replay runs at quarters of the domain characters: is the gap closing?"""
    names = [n for n in runs if n.startswith(("base-r0", "extended-r0"))]
    curves = {n: training_bpc(runs[n]) for n in names}
    total = max(c[-1][0] for c in curves.values())
    lines = [("Training loss in bits/char (no-replay runs; each log interval's next-token loss on blocks seen for the "
             "first time, converted with that interval's tokens/chars), at the log point nearest each share of the "
             "domain characters:"), "", "| run | " + " | ".join(f"{q:.0%}" for q in (0.1, 0.25, 0.5, 0.75, 1.0)) + " |",
             "|---|" + "---:|" * 5]
    for name in names:
        cells = [min(curves[name], key=lambda p, q=q: abs(p[0] - q * total))[1] for q in (0.1, 0.25, 0.5, 0.75, 1.0)]
        lines.append(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    return lines


def _n(value) -> str:
    return "-" if value is None else f"{value:,.0f}" if isinstance(value, (int, float)) else str(value)


def _f(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _torch() -> str:
    import torch

    return torch.__version__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/vocabx-bench-cpt", help="Working directory (kept: reruns resume).")
    parser.add_argument("--budget", type=int, default=2000)
    parser.add_argument("--domain-chars", type=int, default=80_000)
    parser.add_argument("--method", default="full", choices=("full", "lora"))
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--embed-lr", type=float, default=1e-3)
    parser.add_argument("--embed-share", type=float, default=0.2)
    parser.add_argument("--block-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--ext-block-size", type=int, default=96,
                        help="Blocks of the extended model: 96 of its tokens hold about the characters of 256 base tokens.")
    parser.add_argument("--ext-batch-size", type=int, default=4)
    parser.add_argument("--token-shape-run", action="store_true",
                        help="Also train the extended model with the base's block and batch (same tokens per step).")
    parser.add_argument("--ext-lr-variant", type=float, action="append", default=[],
                        help="Also train the extended model (no replay) at this learning rate; repeatable.")
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--replay-ratio", type=float, default=0.25)
    parser.add_argument("--eval-docs", type=int, default=48)
    parser.add_argument("--eval-chars", type=int, default=16_000)
    parser.add_argument("--decode-tokens", type=int, default=48)
    parser.add_argument("--decode-prompts", type=int, default=3)
    parser.add_argument("--threads", default="", help="torch threads of each training run (default: torch's own).")
    parser.add_argument("--cpus", default="", help="Pin training runs to these CPUs (taskset list, e.g. 0).")
    parser.add_argument("--only", choices=("runs", "all"), default="all", help="runs: train only, no evaluation.")
    args = parser.parse_args()
    PLACEMENT.update(threads=args.threads, cpus=args.cpus)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    held, train = work / "heldout.jsonl", work / "train.jsonl"
    if not train.exists():
        split_dialogues(work)
    ext = extend(work, train, args.budget)
    base_shape, ext_shape = (args.block_size, args.batch_size), (args.ext_block_size, args.ext_batch_size)
    runs = {}
    for regime, replay in (("r0", False), ("replay", True)):
        runs[f"extended-{regime}"] = cpt(work, f"extended-{regime}", str(ext), train, args, replay, ext_shape, True)
        runs[f"base-{regime}"] = cpt(work, f"base-{regime}", BASE, train, args, replay, base_shape, False)
    if args.token_shape_run:
        runs["extended-r0-b256"] = cpt(work, "extended-r0-b256", str(ext), train, args, False, base_shape, True)
    for lr in args.ext_lr_variant:
        name = f"extended-r0-lr{lr:g}"
        runs[name] = cpt(work, name, str(ext), train, args, False, ext_shape, True, lr=lr)
    if args.only == "runs":
        return
    results = {"before": measure(work, "before", ext, BASE, held, args)}
    for regime in ("r0", "replay"):
        results[regime] = measure(work, regime, runs[f"extended-{regime}"], runs[f"base-{regime}"], held, args)
    for name, _ in extras(args):
        results[name] = measure(work, name, runs[f"extended-{name}"], None, held, args)
    same_text_scored(results, "bench_cpt")
    text = report(work, args, results, runs)
    print(text)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
