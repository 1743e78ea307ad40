"""Instruction tuning and forgetting: SmolLM2-135M-Instruct tuned on medical conversations with no replay and with
20% general replay (Alpaca en + zh), measured before and after by `vocabx eval --general-instructions
--domain-instructions`: bits per character of held-out answers given their prompts (chat template), and greedy
answers of base and tuned models to the same general prompts.

Baseline, in the same run: the untrained model (`smollm2-135m`), scored in the same `evaluate` call as each
tuned model (`--base`).

Data: sft/medical_sft_1K_format.jsonl, conversations 0-899 for training (read up to --domain-chars characters),
900-999 held out (domain answers). Replay: alpaca_en_demo.json and alpaca_zh_demo.json, records 0-899 of each;
records 900-999 of each held out (general answers, a source never trained on in either run).

    python bench/bench_sft.py --work /tmp/sft-work     # reruns skip finished runs and evaluations

Writes bench/results/sft.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cpt import PLACEMENT, vocabx
from checks import same_text_scored

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOCABX_SHARED_DATA") or REPO.parent / "shared" / "data")
SFT = SHARED / "sft"
RESULTS = REPO / "bench" / "results" / "sft.md"
BASE = "smollm2-135m"
HELD = 100  # held-out records at the end of each file


def split(work: Path) -> dict[str, Path]:
    """Training and held-out files, written once under work/."""
    med = [json.loads(line) for line in (SFT / "medical_sft_1K_format.jsonl").read_text(encoding="utf-8").split("\n")
           if line.strip()]
    en = json.loads((SFT / "alpaca_en_demo.json").read_text(encoding="utf-8"))
    zh = json.loads((SFT / "alpaca_zh_demo.json").read_text(encoding="utf-8"))
    files = {"med_train": med[:-HELD], "med_held": med[-HELD:], "replay": [r for pair in zip(en[:-HELD], zh[:-HELD])
             for r in pair], "en_held": en[-HELD:], "zh_held": zh[-HELD:]}
    paths = {}
    for name, records in files.items():
        paths[name] = work / f"{name}.jsonl"
        if not paths[name].exists():
            paths[name].write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return paths


def train(work: Path, name: str, data: dict[str, Path], args: argparse.Namespace, ratio: float) -> Path:
    out = work / name
    if (out / "manifest.json").exists():
        return out
    flags = ["train", "sft", BASE, "--data", str(data["med_train"]), "--max-chars", str(args.domain_chars),
             "--method", args.method, "--lr", str(args.lr), "--max-length", str(args.max_length),
             "--batch-size", str(args.batch_size), "--warmup-steps", str(args.warmup_steps), "--save-steps", "1000000",
             "--log-steps", "5", "--seed", "42", "--out", str(out), "--force"]
    if ratio > 0:
        flags += ["--replay", str(data["replay"]), "--replay-ratio", str(ratio)]
    vocabx(work / f"{name}.log", *flags)
    return out


def measure(work: Path, name: str, model: Path | str, data: dict[str, Path], args: argparse.Namespace,
            with_base: bool = True) -> dict:
    """`vocabx eval` of a tuned model, next to the untrained one when `with_base` (its figures do not change from
    run to run: greedy answers and scores of the same weights), cached as JSON under work/."""
    from vocabx.eval import EvalConfig
    from vocabx.eval.api import evaluate

    cache = work / f"eval-{name}.json"
    if cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    result = evaluate(EvalConfig(
        model=str(model), base=BASE if with_base else None, model_label="tuned", base_label="base",
        general_instructions=(f"alpaca-en={data['en_held']}", f"alpaca-zh={data['zh_held']}"),
        domain_instructions=(f"medical={data['med_held']}",), instruction_docs=args.eval_docs,
        answer_prompts=args.answer_prompts, answer_tokens=args.answer_tokens, decode_tokens=0,
        threads=args.eval_threads, plots=False)).to_dict()
    cache.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return result


def report(args: argparse.Namespace, results: dict[str, dict], runs: dict[str, Path]) -> str:
    command = ("python bench/bench_sft.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])).strip()
    lines = [
        "## Instruction tuning: forgetting without and with general replay (`vocabx train sft`, `vocabx eval`)", "",
        f"Command: `{command}`  ",
        f"Machine: 2-core CPU ({platform.machine()}), 24 GB, shared with other sessions' jobs; no GPU was used.", "",
        (f"Setup: `vocabx train sft {BASE} --method {args.method} --lr {args.lr} --max-length {args.max_length} "
         f"--batch-size {args.batch_size} --max-chars {args.domain_chars}` on medical_sft_1K_format.jsonl "
         f"conversations 0-899 (the budget takes the first whole conversations up to {args.domain_chars:,} message "
         f"characters), one pass, cosine schedule, {args.warmup_steps} warm-up steps; replay runs add Alpaca en+zh "
         f"records 0-899 at the given ratio. Evaluation (`vocabx eval TUNED --base {BASE}`): bits per character of "
         f"the answer given its prompt under the chat template, on {args.eval_docs} held-out records of each set "
         f"(records 900-999: never trained on): general = alpaca_en_demo and alpaca_zh_demo, domain = "
         f"medical_sft_1K_format."), "",
        ("| run | replay | conversations | replay share seen | steps | train s | general en bits/char | "
         "general zh bits/char | domain (medical) bits/char |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    first = next(iter(results.values()))
    base = _instr(first, "base")
    lines.append(f"| untrained | - | - | - | - | - | {base['alpaca-en']:.4f} | {base['alpaca-zh']:.4f} | "
                 f"{base['medical']:.4f} |")
    for name, result in results.items():
        m = json.loads((runs[name] / "manifest.json").read_text(encoding="utf-8"))["counts"]
        tuned = _instr(result, "tuned")
        cells = " | ".join(f"{tuned[k]:.4f} ({tuned[k] / base[k] - 1:+.1%})"
                           for k in ("alpaca-en", "alpaca-zh", "medical"))
        lines.append(f"| {name} | {m.get('replay_ratio')} | {m.get('examples')} | {m.get('replay_share')} | "
                     f"{m.get('steps')} | {m.get('seconds', 0):,.0f} | {cells} |")
    lines += ["", "Greedy answers to held-out general prompts (alpaca-en records 900-; all in each run's eval.json):",
              ""]
    base_answers = [item["answers"].get("base", "") for item in first["answers"]]
    for k, item in enumerate(first["answers"][: args.show_answers]):
        lines += [f"- prompt: {_one_line(item['prompt'])}", f"  - untrained: {_one_line(base_answers[k])}"]
        lines += [f"  - {name}: {_one_line(result['answers'][k]['answers'].get('tuned', ''))}"
                  for name, result in results.items()]
    return "\n".join(lines) + "\n"


def _instr(result: dict, label: str) -> dict[str, float]:
    return {r["set"]: r["bits_per_char"] for r in result["instructions"] if r["model"] == label}


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return (text[:limit] + "…") if len(text) > limit else text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/vocabx-bench-sft")
    parser.add_argument("--domain-chars", type=int, default=24_000)
    parser.add_argument("--method", default="full", choices=("full", "lora"))
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--max-length", type=int, default=384)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--replay-ratio", type=float, default=0.2)
    parser.add_argument("--eval-docs", type=int, default=48)
    parser.add_argument("--answer-prompts", type=int, default=6)
    parser.add_argument("--answer-tokens", type=int, default=48)
    parser.add_argument("--show-answers", type=int, default=3)
    parser.add_argument("--eval-threads", type=int, default=1)
    parser.add_argument("--threads", default="1", help="torch threads of each training run.")
    parser.add_argument("--cpus", default="", help="Pin training runs to these CPUs (taskset list, e.g. 0).")
    parser.add_argument("--only", choices=("r0", "replay", "eval", "all"), default="all",
                        help="r0 / replay: train that run only; eval: evaluate the finished runs (report when all "
                             "are).")
    args = parser.parse_args()
    PLACEMENT.update(threads=args.threads, cpus=args.cpus)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data = split(work)
    plan = {"sft-r0": 0.0, f"sft-replay{args.replay_ratio:g}": args.replay_ratio}
    if args.only == "eval":  # evaluate the finished runs only (a run still training is left alone)
        runs = {name: work / name for name in plan if (work / name / "manifest.json").exists()}
    else:
        runs = {name: train(work, name, data, args, ratio) for name, ratio in plan.items()
                if args.only == "all" or (args.only == "r0") == (ratio == 0)}
    if args.only in ("r0", "replay"):
        return
    results = {name: measure(work, name, run, data, args, with_base=k == 0)
               for k, (name, run) in enumerate(runs.items())}
    if not results:
        return
    same_text_scored(results, "bench_sft")
    text = report(args, results, runs)
    missing = [name for name in plan if name not in results]
    if missing:
        text += f"\nNot measured: {', '.join(missing)} (no finished run under {work}).\n"
    print(text)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
