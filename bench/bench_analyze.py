"""Benchmark `vocabx analyze`, each section against a named baseline in the same run:

  compression  held-out chars/token of `analyze -> extend` (the plan, term-shaped and not) against `extend --mode
               train` (continued BPE on the same text) and a 20k SentencePiece trained on the same text merged
               Chinese-LLaMA style, for Llama-2 and SmolLM2 at several budgets; mined on medical-zh/dialogues.csv,
               measured on other sources (sft answers, medical_corpus.txt); legal: mined on 3/4 of the laws,
               measured on the rest; general text never longer.
  recall       CSL author keywords found in the top K terms by termhood, next to jieba's TF-IDF and TextRank.
  speed        whole processes, median of `--repeat`: `vocabx analyze` against a fresh `python -c` running
               `jieba.lcut` on the same text; another commit side by side (`--baseline-ref`, the same plan.tsv
               required); and analyze without its compiled kernels (`--kernels-ref`: a commit whose numpy paths
               still exist, run with VOCABX_NATIVE=0, or one kernel group off with VOCABX_NATIVE_OFF).
  memory       wall time and peak RSS of `vocabx analyze` on a 100 MB corpus (the medical rows repeated with
               variation), per tokenizer, and at `--baseline-ref` beside it.
  pretokenizer the compiled GPT-2 pre-tokenizer against the `regex` steps it emulates (same ends required); not
               in the default sections.

    python bench/bench_analyze.py [--sections compression recall speed memory pretokenizer] [--budgets 1000 ...]
                                  [--repeat 5] [--baseline-ref COMMIT] [--kernels-ref COMMIT]
                                  [--out bench/results/analyze.md]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checks import require, round_trip_like_base
from reftree import REF_CLI, ref_tree

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOCABX_SHARED_DATA") or ROOT.parent / "shared" / "data")
DIALOGUES = SHARED / "corpora" / "medical-zh" / "dialogues.csv"
LLAMA = SHARED / "tokenizers" / "llama2" / "tokenizer.model"
MACHINE = (f"2-core CPU, 24 GB, load average {os.getloadavg()[0]:.1f} when the script started (above 2, other jobs "
           "shared the cores: absolute seconds are inflated and noisy; ratios side by side in one run count)")
TOKENIZERS = {"Llama-2": str(LLAMA), "SmolLM2": "smollm2"}
VOCABX = str(Path(sys.executable).with_name("vocabx"))


def dialogues() -> list[str]:
    with open(DIALOGUES, encoding="utf-8") as fh:
        return [f"{r['title']}\n{r['ask']}\n{r['answer']}" for r in csv.DictReader(fh)]


def heldout() -> dict[str, list[str]]:
    """Medical text from sources never mined: sft answers and medical_corpus.txt (question + answer)."""
    sft = [c["value"] for line in (SHARED / "sft" / "medical_sft_1K_format.jsonl").open(encoding="utf-8")
           for c in json.loads(line)["conversations"] if c["from"] == "gpt"]
    corpus = [(lambda d: d["问"] + "\n" + d["答"])(json.loads(line))
              for line in (SHARED / "corpora" / "medical-zh" / "medical_corpus.txt").open(encoding="utf-8")]
    return {"sft answers": sft, "medical_corpus": corpus}


def legal() -> tuple[list[str], list[str]]:
    """(mined, held-out): every 4th law file held out, the rest mined."""
    files = sorted(p for p in (SHARED / "corpora" / "legal-zh").rglob("*.md") if p.name != "_index.md")
    texts = [p.read_text(encoding="utf-8") for p in files]
    return [t for i, t in enumerate(texts) if i % 4], [t for i, t in enumerate(texts) if i % 4 == 0]


def general() -> dict[str, list[str]]:
    en = [ln for ln in (SHARED / "corpora/general-en/wiki_demo.txt").read_text(encoding="utf-8").splitlines() if ln]
    en += [json.loads(ln)["text"] for ln in (SHARED / "corpora/general-en/c4_demo.jsonl").open(encoding="utf-8")]
    zh = [json.loads(ln)["sentence"] for ln in (SHARED / "corpora/general-zh/tnews_unlabeled.json").open(encoding="utf-8")]
    return {"general-en": en, "general-zh": zh[:5000]}


def write_jsonl(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    return path


# -- compression ------------------------------------------------------------------------------------------------


def sp_donor(texts: list[str], size: int = 20000) -> bytes:
    """A SentencePiece BPE trained on the mined text with default options (the Chinese-LLaMA recipe's donor)."""
    import io

    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(texts), model_writer=buf, vocab_size=size, model_type="bpe",
                                   max_sentence_length=1 << 16, num_threads=2, minloglevel=2)
    return buf.getvalue()


def builders(tokenizer: str, mined: list[str], tmp: Path, budgets: list[int]) -> dict[str, object]:
    """name -> build(budget) -> extended adapter, for every method compared."""
    from vocabx.adapters import load_tokenizer
    from vocabx.analyze import AnalyzeConfig, analyze
    from vocabx.analyze.plan import read_plan
    from vocabx.extend.registry import get_extender

    base = load_tokenizer(tokenizer)
    tmp.mkdir(parents=True, exist_ok=True)
    corpus = write_jsonl(tmp / "mined.jsonl", mined)
    plans = {}
    for shape in (True, False):
        out = tmp / f"analysis-{shape}"
        analyze(AnalyzeConfig(corpus=(str(corpus),), tokenizer=tokenizer, out=str(out), force=True, shape=shape,
                              budgets=tuple(budgets)))
        plans[shape] = read_plan(out / "plan.tsv")
    family = get_extender(base.family)
    donor = sp_donor(mined)
    methods = {
        "analyze (term shape)": lambda b: family.extend_plan(base, plans[True], b).extended,
        "analyze (no shape)": lambda b: family.extend_plan(base, plans[False], b).extended,
        "continued BPE (extend --mode train)": lambda b: get_extender(base.family, "train").extend(base, [], b, mined).extended,
        "SP-BPE 20k merged": lambda b: _merged(base, donor, b),
    }
    return {"base": base, "methods": methods, "plans": plans}


def _merged(base, donor: bytes, budget: int):
    """The donor's pieces merged Chinese-LLaMA style: SentencePiece bases by `--mode merge` (score 0 appends, all
    of them: the budget does not apply, as in the recipe); byte-level bases take the pieces (▁ removed) as ranked
    terms for the term planner, up to the budget."""
    from vocabx.adapters.sentencepiece import SentencePieceAdapter
    from vocabx.extend.registry import get_extender
    from vocabx.extend.sp_merge import merge_models

    if isinstance(base, SentencePieceAdapter):
        model, _ = merge_models(base.model_bytes, donor)
        return SentencePieceAdapter(model, "merged", "merged")
    donor_sp = SentencePieceAdapter(donor, "donor", "donor")
    pieces = [p.piece.replace("▁", "") for p in donor_sp.proto.pieces if p.type == 1]
    terms = list(dict.fromkeys(p for p in pieces if len(p) > 1))
    return get_extender(base.family).extend(base, terms, budget).extended


def cpt(adapter, texts: list[str]) -> float:
    return sum(map(len, texts)) / adapter.count_tokens(texts)


def compression(tmp: Path, budgets: list[int], tokenizers: dict[str, str]) -> list[str]:
    med_eval = heldout()
    law_mined, law_eval = legal()
    gen = general()
    lines = [f"Mined: medical-zh/dialogues.csv (all {len(dialogues()):,} rows, title+ask+answer); legal: 3/4 of the "
             f"law files (every 4th held out: {len(law_eval)} files). Held-out, other sources: sft answers "
             f"({len(med_eval['sft answers'])}), medical_corpus.txt ({len(med_eval['medical_corpus'])}). Cells: "
             "held-out chars/token; ratio = analyze (term shape) / continued BPE. SP-BPE 20k merged: all 20k donor "
             "pieces for Llama-2 (the recipe has no budget; same figure in every row), the donor's pieces as ranked "
             "terms up to the budget for SmolLM2. General: documents made longer than the base (en / zh).", ""]
    for label, tok in tokenizers.items():
        for corpus_name, mined, evals in (("medical", dialogues(), med_eval), ("legal", law_mined, {"laws held out": law_eval})):
            built = builders(tok, mined, tmp / f"{label}-{corpus_name}", budgets)
            lines += _table(label, corpus_name, built, budgets, evals, gen)
    return lines


def _table(label: str, corpus_name: str, built: dict, budgets: list[int], evals: dict[str, list[str]],
           gen: dict[str, list[str]]) -> list[str]:
    base = built["base"]
    names = list(built["methods"])
    head = ["budget", *[f"{m}: {e}" for m in names for e in evals], *[f"ratio {e}" for e in evals], "longer (en/zh)"]
    lines = [f"### {label}, {corpus_name}", "", "base: " + ", ".join(f"{e} {cpt(base, t):.3f}" for e, t in evals.items()),
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    merged_cache = None
    for budget in budgets:
        cells, ratios = [], {}
        longer = []
        for name, build in built["methods"].items():
            if name.startswith("SP-BPE") and merged_cache is not None and label == "Llama-2":
                ext = merged_cache
            else:
                ext = build(budget)
                merged_cache = ext if name.startswith("SP-BPE") else merged_cache
            for e, texts in evals.items():
                round_trip_like_base(f"{label} {name} +{budget}", base, ext, texts)
                value = cpt(ext, texts)
                cells.append(f"{value:.3f}")
                ratios.setdefault(e, {})[name] = value
            if name == "analyze (term shape)":
                longer = [_longer(base, ext, docs) for docs in gen.values()]
        ratio = [f"{r['analyze (term shape)'] / r['continued BPE (extend --mode train)']:.3f}" for r in ratios.values()]
        lines.append(f"| {budget:,} | " + " | ".join(cells + ratio) + f" | {longer[0]} / {longer[1]} |")
        print(lines[-1], flush=True)
    return lines + [""]


def _longer(base, ext, docs: list[str]) -> int:
    before = [len(x) for x in base.encode_batch(docs)]
    after = [len(x) for x in ext.encode_batch(docs)]
    return sum(a > b for a, b in zip(after, before))


# -- recall -----------------------------------------------------------------------------------------------------


def recall(tmp: Path) -> list[str]:
    import jieba.analyse

    from vocabx.analyze import AnalyzeConfig, analyze

    items = []
    for name in ("csl_train_few_all.json", "csl_dev_few_all.json"):
        items += [json.loads(line) for line in (SHARED / "gold" / name).open(encoding="utf-8") if line.strip()]
    abstracts = list(dict.fromkeys(item["abst"] for item in items))
    text = "\n".join(abstracts)
    gold = {k for item in items if str(item.get("label")) == "1" for k in item["keyword"] if text.count(k) >= 2}
    corpus = write_jsonl(tmp / "csl.jsonl", abstracts)
    result = analyze(AnalyzeConfig(corpus=(str(corpus),), tokenizer=str(LLAMA), out=str(tmp / "csl"), min_freq=2,
                                   top=0, max_len=8, force=True, budgets=(1000,)))
    with open(result.out / "terms.tsv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    by_termhood = [r["term"] for r in sorted((r for r in rows if r["termhood_rank"]), key=lambda r: int(r["termhood_rank"]))]
    ks = [500, 1000, 5000, len(by_termhood)]
    lines = [f"CSL abstracts: {len(abstracts)} distinct, {len(gold)} genuine keywords (label 1) occurring at least "
             "twice. Found: a top-K term equals the keyword. analyze: terms.tsv by `termhood_rank` (min_freq 2, "
             f"max_len 8, Llama-2); all = every candidate ({len(by_termhood):,}).", "",
             "| K | vocabx analyze (termhood_rank) | jieba TF-IDF extract_tags | jieba TextRank |", "|---|---|---|---|"]
    for k in ks:
        tfidf = set(jieba.analyse.extract_tags(text, topK=k))
        textrank = set(jieba.analyse.textrank(text, topK=k, allowPOS=("ns", "n", "vn", "v", "nz", "eng")))
        ours = len(gold & set(by_termhood[:k])) / len(gold)
        name = f"all ({k:,})" if k == len(by_termhood) else f"{k:,}"
        lines.append(f"| {name} | {ours:.3f} | {len(gold & tfidf) / len(gold):.3f} | {len(gold & textrank) / len(gold):.3f} |")
        print(lines[-1], flush=True)
    return lines


# -- speed and memory --------------------------------------------------------------------------------------------


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB, the largest process: GNU time's %M) of a command."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{cmd[:3]} failed: {proc.stderr[-500:]}")
    return wall, int(proc.stderr.strip().splitlines()[-1]) // 1024


NATIVE_SWITCH = """def native() -> ModuleType | None:
    if os.environ.get("VOCABX_NATIVE", "1") == "0":
        return None
"""
# The same function at the reference commit, also switched off for the modules named in VOCABX_NATIVE_OFF (the
# module that asks): one kernel group at a time, the rest compiled.
NATIVE_SWITCH_PER_MODULE = """def native() -> ModuleType | None:
    caller = __import__("sys")._getframe(1).f_globals["__name__"].rsplit(".", 1)[-1]
    if os.environ.get("VOCABX_NATIVE", "1") == "0" or caller in os.environ.get("VOCABX_NATIVE_OFF", "").split(","):
        return None
"""
# Kernel group -> the modules of the reference commit that call it (scan hashes spans for the span counter, so
# the two go together).
KERNEL_GROUPS = {"jieba segmentation (_jieba.c)": "jiebacut", "n-gram counting": "ngrams",
                 "span grouping and hashing": "spans,scan", "token-count lookups": "tokencount"}


def _ref_tree(ref: str, tmp: Path, switch: bool = False) -> Path:
    """`ref`'s vocabx package in tmp (checks.ref_tree); with `switch`, a per-module switch
    (`VOCABX_NATIVE_OFF=ngrams,...`) added to its `native()`."""

    def add_switch(tree: Path) -> None:
        kernels = tree / "vocabx" / "analyze" / "kernels.py"
        source = kernels.read_text(encoding="utf-8")
        require(NATIVE_SWITCH in source, f"{ref}'s kernels.py has no VOCABX_NATIVE switch to extend")
        kernels.write_text(source.replace(NATIVE_SWITCH, NATIVE_SWITCH_PER_MODULE), encoding="utf-8")

    return ref_tree(ref, tmp / f"ref-{ref}{'-switch' if switch else ''}", add_switch if switch else None)


REF_ANALYZE = [*REF_CLI, "analyze"]


def _commands(tmp: Path, baseline_ref: str | None, kernels_ref: str | None) -> list[tuple[str, list[str], dict | None]]:
    """(label, command up to `analyze`, environment) of each variant the speed and memory sections run: this
    checkout; `baseline_ref`; `kernels_ref` with every kernel, with none (its numpy paths and rjieba) and with one
    group off at a time. `{k}` in a label stands for the tokenizer. Every variant whose label does not name jieba must
    write this checkout's plan.tsv (rjieba cuts some number ranges otherwise)."""
    out: list[tuple[str, list[str], dict | None]] = [("analyze, {k}", [VOCABX, "analyze"], None)]
    if baseline_ref:
        out.append((f"analyze, {{k}} ({baseline_ref})", REF_ANALYZE, {"PYTHONPATH": str(_ref_tree(baseline_ref, tmp))}))
    if kernels_ref:
        env = {"PYTHONPATH": str(_ref_tree(kernels_ref, tmp, switch=True))}
        switches = {"kernels": {}, "numpy paths + rjieba (VOCABX_NATIVE=0)": {"VOCABX_NATIVE": "0"},
                    **{f"all kernels but {group}": {"VOCABX_NATIVE_OFF": modules}
                       for group, modules in KERNEL_GROUPS.items()}}
        out += [(f"analyze, {{k}}, {what} ({kernels_ref})", REF_ANALYZE, {**env, **switch})
                for what, switch in switches.items()]
    return out


def _same_plans(plans: dict[str, bytes], tokenizer: str) -> None:
    """One implementation per algorithm: every run of `tokenizer` but the rjieba ones wrote the same plan.tsv."""
    ours = {label: plan for label, plan in plans.items() if "jieba" not in label}
    require(len(set(ours.values())) == 1, f"{tokenizer}: these runs wrote different plan.tsv files: {sorted(ours)}")


def speed(tmp: Path, repeat: int, kernels_ref: str | None, baseline_ref: str | None) -> list[str]:
    texts = dialogues()
    corpus = write_jsonl(tmp / "med.jsonl", texts)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    jieba_cmd = [sys.executable, "-c", "import json,jieba;jieba.setLogLevel(60);[jieba.lcut(json.loads(l)['text']) "
                 f"for l in open({str(corpus)!r},encoding='utf-8')]"]
    runs: dict[str, list[float]] = {}
    variants: dict[str, tuple[str, list[str], dict | None]] = {}  # label -> (tokenizer, command, environment)
    for label, prefix, env in _commands(tmp, baseline_ref, kernels_ref):
        for k, v in TOKENIZERS.items():  # each run an output of its own: the plans are compared
            out = tmp / f"o-{len(variants)}"
            variants[label.format(k=k)] = (k, [*prefix, str(corpus), "-t", v, "-o", str(out), "--force"], env)
    for _ in range(repeat):
        runs.setdefault("jieba.lcut (fresh python -c)", []).append(_timed(jieba_cmd)[0])
        for name, (_, cmd, env) in variants.items():
            runs.setdefault(name, []).append(_timed(cmd, env)[0])
        print({k: round(v[-1], 2) for k, v in runs.items()}, flush=True)
    for k in TOKENIZERS:
        _same_plans({name: (Path(cmd[cmd.index("-o") + 1]) / "plan.tsv").read_bytes()
                     for name, (tok, cmd, _) in variants.items() if tok == k}, k)
    base = statistics.median(runs["jieba.lcut (fresh python -c)"])
    lines = [f"Medical dialogues, {len(texts):,} documents, {mb:.2f} MB; {repeat} rounds, each command in turn, every "
             "one a fresh process (imports and model loads included).", "",
             "| command | median s | runs (s) | speed-up over jieba.lcut (medians) |", "|---|---|---|---|"]
    for name, values in runs.items():
        med = statistics.median(values)
        lines.append(f"| {name} | {med:.2f} | {', '.join(f'{v:.2f}' for v in values)} | {base / med:.2f}x |")
    return lines


def memory(tmp: Path, size_mb: float, tokenizers: dict[str, str], baseline_ref: str | None,
           repeat: int = 1, kernels_ref: str | None = None) -> list[str]:
    texts = dialogues()
    out, written, i = [], 0, 0
    while written < size_mb * 1e6:  # rotated, numbered copies: repeated text with variation
        t = texts[i % len(texts)]
        cut = (i * 7) % max(len(t), 1)
        out.append(f"{i} {t[cut:]}{t[:cut]}")
        written += len(out[-1].encode("utf-8"))
        i += 1
    corpus = write_jsonl(tmp / "big.jsonl", out)
    lines = [f"{size_mb:.0f} MB corpus ({len(out):,} documents: the medical rows rotated and numbered), {repeat} "
             "run(s) of each command, in turn; peak RSS of the largest process (GNU time %M). Goal: under 2 GB.", "",
             "| command | wall s (median) | peak RSS MB (median) | peak RSS MB, each run |", "|---|---:|---:|---|"]
    commands = _commands(tmp, baseline_ref, kernels_ref)
    for k, v in tokenizers.items():
        plans: dict[str, bytes] = {}
        runs: dict[str, list[tuple[float, int]]] = {label.format(k=k): [] for label, _, _ in commands}
        for _ in range(repeat):
            for label, prefix, env in commands:
                label, out_dir = label.format(k=k), tmp / "big"
                runs[label].append(_timed([*prefix, str(corpus), "-t", v, "-o", str(out_dir), "--force"], env))
                plan = (out_dir / "plan.tsv").read_bytes()
                require(plans.setdefault(label, plan) == plan, f"{label}: two runs wrote different plans")
                shutil.rmtree(out_dir)
                print(label, runs[label][-1], flush=True)
        _same_plans(plans, k)
        for label, values in runs.items():
            lines.append(f"| {label} | {statistics.median(w for w, _ in values):.1f} | "
                         f"{statistics.median(r for _, r in values):,.0f} | {', '.join(f'{r:,}' for _, r in values)} |")
    return lines


def pretokenizer(repeat: int) -> list[str]:
    """The compiled GPT-2 pre-tokenizer against the `regex` steps it emulates, in one process on the dialogues: the
    same pre-token ends required (the pass `vocabx analyze` makes over every byte-level corpus, twice)."""
    import numpy as np

    from vocabx.adapters.loader import load_tokenizer
    from vocabx.analyze.kernels import native
    from vocabx.analyze.segment import char_classes
    from vocabx.analyze.tokencount import CLASSES, TokenCounter

    texts = dialogues()
    lines = [f"Medical dialogues, {len(texts):,} documents, {sum(map(len, texts)):,} characters; best of {repeat}.", "",
             "| tokenizer | compiled s | regex steps s | ratio |", "|---|---:|---:|---:|"]
    for name in ("smollm2",):  # Qwen2 splits with a regex of its own (no GPT-2 pattern to emulate)
        adapter = load_tokenizer(name)
        counter = TokenCounter(adapter, adapter.fallback_flags()[0])
        norm = counter.normalizer
        docs = [norm.normalize_str(t) for t in texts] if norm is not None else texts
        require(counter.gpt2_digits is not None and counter.steps is not None, f"{name}: no GPT-2 pre-tokenizer")
        compiled, steps = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            cps = np.frombuffer("".join(docs).encode("utf-32-le"), dtype=np.uint32)
            text_ends = np.cumsum(np.fromiter(map(len, docs), dtype=np.int64, count=len(docs)))
            ends = np.frombuffer(native().gpt2_pretokenize(cps, char_classes(cps, CLASSES), text_ends,
                                                           counter.gpt2_digits), dtype=np.int64)
            compiled.append(time.perf_counter() - start)
            start = time.perf_counter()
            pieces: list[str] = []
            for doc in docs:
                parts = [doc]
                for step in counter.steps:
                    parts = [q for p in parts for q in step(p)]
                pieces += parts
            steps.append(time.perf_counter() - start)
            require(np.array_equal(ends, np.cumsum([len(p) for p in pieces])), f"{name}: pre-token ends differ")
        lines.append(f"| {name} | {min(compiled):.3f} | {min(steps):.3f} | {min(steps) / min(compiled):.1f}x |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="+", default=["compression", "recall", "speed", "memory"])
    parser.add_argument("--budgets", type=int, nargs="+", default=[1000, 2000, 5000, 10000, 20000, 50000])
    parser.add_argument("--tokenizers", nargs="+", default=list(TOKENIZERS))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--kernels-ref", help="a commit whose analyze still has numpy paths (VOCABX_NATIVE=0)")
    parser.add_argument("--baseline-ref", help="a commit run side by side (speed, memory): it must write the same "
                        "plan.tsv")
    parser.add_argument("--memory-mb", type=float, default=100)
    parser.add_argument("--memory-repeat", type=int, default=1, help="Runs of each command in the memory section "
                        "(peak RSS varies from run to run with how the stages overlap).")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "analyze.md"))
    parser.add_argument("--title", default="vocabx analyze", help="The section's heading in RESULTS.md.")
    args = parser.parse_args()
    command = "python bench/bench_analyze.py " + " ".join(sys.argv[1:])
    sections = {"compression": "Compression on held-out text", "recall": "Keyword recall (CSL)",
                "speed": "Speed, whole processes", "memory": "Memory",
                "pretokenizer": "The compiled GPT-2 pre-tokenizer against its regex"}
    doc = [f"## {args.title}", "", f"Command: `{command}`. Machine: {MACHINE}.", ""]
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        for name in args.sections:
            start = time.perf_counter()
            if name == "compression":
                body = compression(tmp, args.budgets, {k: TOKENIZERS[k] for k in args.tokenizers})
            elif name == "recall":
                body = recall(tmp)
            elif name == "pretokenizer":
                body = pretokenizer(args.repeat)
            elif name == "speed":
                body = speed(tmp, args.repeat, args.kernels_ref, args.baseline_ref)
            else:
                body = memory(tmp, args.memory_mb, {k: TOKENIZERS[k] for k in args.tokenizers}, args.baseline_ref,
                              args.memory_repeat, args.kernels_ref)
            doc += [f"### {sections[name]}", "", *body, "", f"({time.perf_counter() - start:.0f} s)", ""]
            Path(args.out).write_text("\n".join(doc) + "\n", encoding="utf-8")
    print("\n".join(doc))


if __name__ == "__main__":
    main()
