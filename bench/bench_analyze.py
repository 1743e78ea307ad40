"""Benchmark `vocabx analyze`: throughput against plain `jieba.lcut` (same text, same run), peak memory at several
corpus sizes, and term quality (recall@K of CSL author keywords) against jieba's TF-IDF `extract_tags`.

    python bench/bench_analyze.py [--sizes-mb 10 30 100] [--skip-throughput] [--skip-memory] [--skip-quality]
                                  [--repeat 3] [--baseline DIR [--baseline-workers 1 0]] [--out FILE]

Sections it does not re-measure (memory with --skip-memory, hand-written notes) are kept from the existing file.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(os.environ.get("VOCABX_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
DIALOGUES = SHARED / "corpora" / "medical-zh" / "dialogues.csv"
LLAMA = SHARED / "tokenizers" / "llama2" / "tokenizer.model"
MACHINE = "2-core CPU, 24 GB (shared with other engineers' jobs: ratios measured side by side are what count)"
TOKENIZERS = {"llama2 (SentencePiece)": str(LLAMA), "smollm2 (byte-level BPE)": "smollm2"}
NUMPY = "llama2, numpy path (VOCABX_NATIVE=0)"  # the fallback where the compiled kernels are not built


def training_texts() -> list[str]:
    """Medical dialogues minus the hold-out (row index % 10 == 0)."""
    with open(DIALOGUES, encoding="utf-8", errors="replace") as fh:
        rows = list(csv.DictReader(fh))
    return [f"{r['title']}\n{r['ask']}\n{r['answer']}" for i, r in enumerate(rows) if i % 10]


def run_analyze(corpus: Path, tokenizer: str, out: Path, **extra) -> tuple[float, object]:
    from vocabx.analyze import AnalyzeConfig, analyze

    config = AnalyzeConfig(corpus=(str(corpus),), tokenizer=tokenizer, out=str(out), force=True, **extra)
    start = time.perf_counter()
    result = analyze(config)
    return time.perf_counter() - start, result


def _stages(result: object) -> str:
    wall = ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items())
    return wall + "; CPU s: " + ", ".join(f"{k} {v:.2f}" for k, v in getattr(result, "cpu_timings", {}).items())


def write_corpus(tmp: Path) -> tuple[Path, list[str], float]:
    texts = training_texts()
    corpus = tmp / "med.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    return corpus, texts, sum(len(t.encode("utf-8")) for t in texts) / 1e6


def throughput(tmp: Path, repeat: int) -> list[str]:
    """`jieba.lcut` over every document, then `analyze` with each tokenizer (default workers: all cores) and once
    more without the compiled kernels, in this process, then with each tokenizer in a fresh process (as the CLI
    runs it; only the `analyze()` call is timed, as here), `repeat` times in turn; the ratio of each run is taken
    against the jieba run just before it."""
    import jieba

    corpus, texts, mb = write_corpus(tmp)
    jieba.initialize()  # the baseline's dictionary, loaded before its timing; likewise analyze's segmenters:
    warm_segmenters()
    rows, ratios = [], {name: [] for name in TOKENIZERS}
    for run in range(1, repeat + 1):
        cpu0, start = _cpu(), time.perf_counter()
        for text in texts:
            jieba.lcut(text)
        t_jieba, c_jieba = time.perf_counter() - start, _cpu() - cpu0
        rows.append(f"| {run} | baseline: `jieba.lcut` on every document | {t_jieba:.2f} | {c_jieba:.2f} | "
                    f"{mb / t_jieba:.2f} | 1.00x | |")
        for name, tok in [*TOKENIZERS.items(), (NUMPY, str(LLAMA))]:
            cpu0 = _cpu()
            os.environ["VOCABX_NATIVE"] = "0" if name == NUMPY else "1"
            try:
                seconds, result = run_analyze(corpus, tok, tmp / "out")
            finally:
                os.environ.pop("VOCABX_NATIVE")
            ratios.setdefault(name, []).append(t_jieba / seconds)
            rows.append(f"| {run} | `analyze`, {name} | {seconds:.2f} | {_cpu() - cpu0:.2f} | {mb / seconds:.2f} | "
                        f"{t_jieba / seconds:.2f}x | {_stages(result)} |")
        for name, tok in TOKENIZERS.items():  # as the CLI runs it: a process of its own (the call timed alone)
            proc = subprocess.run([sys.executable, "-c", CHILD, str(corpus), tok, str(tmp / "out-fresh"), "0"],
                                  capture_output=True, text=True, check=True, cwd=tmp)
            child = json.loads(proc.stdout.strip().splitlines()[-1])
            label = f"{name}, fresh process"
            ratios.setdefault(label, []).append(t_jieba / child["wall"])
            stages = ", ".join(f"{k} {v:.2f}" for k, v in child["stages"].items())
            rows.append(f"| {run} | `analyze`, {label} | {child['wall']:.2f} | {child['cpu']:.2f} | "
                        f"{mb / child['wall']:.2f} | {t_jieba / child['wall']:.2f}x | CPU s: {stages} |")
        print("\n".join(rows[-6:]), flush=True)
    summary = ", ".join(f"{name} {statistics.median(r):.2f}x" for name, r in ratios.items())
    return [(f"Medical dialogues, training rows: {len(texts):,} documents, {mb:.2f} MB UTF-8; {repeat} runs in turn, "
             f"load average {os.getloadavg()[0]:.1f} at the end. CPU s: user+sys of this process and its reaped "
             "children (workers). The tokenizer loads during `scan`, in the main process while the workers segment, "
             "so `load` is the corpus and the segmenter only. Rows marked *fresh process* run `analyze` in a process "
             "of its own, as `vocabx analyze` does (module imports and the segmenter's model load included); the others "
             "run it in this process, right after jieba has built its dictionary and segmented the corpus, which "
             "leaves a larger process to fork the workers from. Before the runs, jieba's dictionary is loaded (as "
             "for any jieba timing), vocabx's compiled-jieba cache is built where missing (once per machine) and "
             "rjieba is imported (for the numpy-path row)."), "",
            f"**Median speed-up over `jieba.lcut` (wall, same run): {summary}.**", "",
            "| run | what | seconds | CPU s | MB/s | vs jieba.lcut (wall) | stages: wall s; CPU s |",
            "|---|---|---|---|---|---|---|", *rows]


CHILD = """
import json, resource, sys, time
from vocabx.analyze import AnalyzeConfig, analyze
def cpu():
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime
corpus, tok, out, workers = sys.argv[1:5]
c0, t0 = cpu(), time.perf_counter()
r = analyze(AnalyzeConfig(corpus=(corpus,), tokenizer=tok, out=out, force=True, workers=int(workers)))
print(json.dumps({"wall": time.perf_counter() - t0, "cpu": cpu() - c0, "stages": r.cpu_timings}))
"""


def before_after(tmp: Path, baseline: Path, repeat: int, workers: int) -> list[str]:
    """Per-stage CPU seconds of the `baseline` tree's analyze and this tree's, each run in a fresh process, in
    turn (baseline, current, baseline, ...), `workers` workers; medians over `repeat` runs. Also checks that
    both write byte-identical terms.tsv and report.json."""
    corpus, _, _ = write_corpus(tmp)
    trees = {"before": str(baseline), "after": str(Path(__file__).resolve().parents[1])}
    runs: dict[tuple[str, str], list[dict]] = {}
    for _ in range(repeat):
        for name, tok in TOKENIZERS.items():
            for label, tree in trees.items():
                env = {**os.environ, "PYTHONPATH": tree}
                out = tmp / f"ba-{label}-{name}"
                proc = subprocess.run([sys.executable, "-c", CHILD, str(corpus), tok, str(out), str(workers)],
                                      capture_output=True, text=True, check=True, env=env, cwd=tmp)
                runs.setdefault((name, label), []).append(json.loads(proc.stdout.strip().splitlines()[-1]))
    # The same outputs as the baseline's when it segments with jieba itself (rjieba blocked): the compiled jieba
    # gives jieba's pieces, which rjieba's differ from on number ranges.
    blocker = tmp / "no-rjieba"
    blocker.mkdir(exist_ok=True)
    (blocker / "rjieba.py").write_text("raise ImportError('blocked: the baseline segments with jieba')\n")
    for name, tok in TOKENIZERS.items():
        env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{baseline}"}
        subprocess.run([sys.executable, "-c", CHILD, str(corpus), tok, str(tmp / f"ba-jieba-{name}"), str(workers)],
                       capture_output=True, text=True, check=True, env=env, cwd=tmp)
    same = {(name, base): _same_outputs(tmp / f"ba-{base}-{name}", tmp / f"ba-after-{name}")
            for name in TOKENIZERS for base in ("before", "jieba")}
    stages = list(runs[next(iter(runs))][0]["stages"])
    head = " | ".join(f"{name} {label}" for name in TOKENIZERS for label in trees)
    lines = [f"Baseline: the analyze code in `{baseline}`; {repeat} runs of each, alternating, workers={workers}, "
             f"each in a fresh process; medians. Outputs identical (terms.tsv bytes; report.json but for the "
             f"segmenter's name) to the baseline's as it runs: "
             + ", ".join(f"{name} {'yes' if same[(name, 'before')] else 'no'}" for name in TOKENIZERS)
             + "; to the baseline's segmenting with jieba itself (rjieba blocked): "
             + ", ".join(f"{name} {'yes' if same[(name, 'jieba')] else 'NO'}" for name in TOKENIZERS) + ".", "",
             f"| CPU s | {head} |", "|---|" + "---|" * (2 * len(TOKENIZERS))]
    for stage in stages:
        cells = [statistics.median(r["stages"][stage] for r in runs[(n, lab)]) for n in TOKENIZERS for lab in trees]
        lines.append(f"| {stage} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    for key, label in (("cpu", "**total CPU s**"), ("wall", "wall s")):
        cells = [statistics.median(r[key] for r in runs[(n, lab)]) for n in TOKENIZERS for lab in trees]
        lines.append(f"| {label} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    print("\n".join(lines), flush=True)
    return lines


def warm_segmenters() -> None:
    """Build the compiled jieba's model cache if this machine has none yet (a one-time second, as jieba's own cache
    is), and import rjieba for the numpy-path rows (its dictionary takes 0.2 s to build, as jieba's 0.7 s to load).
    The fresh-process rows still load the model from its cache in every run (10 ms)."""
    import rjieba  # noqa: F401

    from vocabx.analyze.jiebacut import jieba_model

    jieba_model()


def _same_outputs(a: Path, b: Path) -> bool:
    """terms.tsv byte-identical and report.json equal but for the segmenter's name."""
    def report(d: Path) -> dict:
        data = json.loads((d / "report.json").read_text(encoding="utf-8"))
        data.pop("segmenter", None)
        return data

    return (a / "terms.tsv").read_bytes() == (b / "terms.tsv").read_bytes() and report(a) == report(b)


def _cpu() -> float:
    """User + system CPU seconds of this process and its reaped children (the analyze workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def build_corpus(path: Path, size_mb: float) -> None:
    """Repeat the shared Chinese corpora with variation (each copy's lines rotated and numbered) up to size_mb."""
    texts = training_texts()
    news = [json.loads(line)["sentence"] for line in (SHARED / "corpora/general-zh/tnews_unlabeled.json").open(encoding="utf-8")]
    written, copy = 0, 0
    with open(path, "w", encoding="utf-8") as fh:
        while written < size_mb * 1e6:
            shift = (copy * 7919) % len(texts)
            for i, text in enumerate(texts[shift:] + texts[:shift]):
                line = json.dumps({"text": f"{text}\n{news[(i + copy) % len(news)]}（第{copy}版）"}, ensure_ascii=False) + "\n"
                fh.write(line)
                written += len(line.encode("utf-8"))
                if written >= size_mb * 1e6:
                    break
            copy += 1


def memory(tmp: Path, sizes: list[float]) -> list[str]:
    lines = [("Peak RSS of `analyze` (Llama-2 tokenizer, default workers) on corpora built by repeating the medical "
              "training rows and TNEWS headlines with variation (rotated order, numbered copies). A forked child's "
              "peak counts the pages it shares with the main process at the fork, so the largest child (the "
              "scan worker) can read about as high as the main process without adding as much. The main "
              "process's peak is its VmHWM (ru_maxrss would carry this bench process's size over the exec)."), "",
             "| corpus MB | seconds | peak RSS, main process (MB) | peak RSS, largest child (MB) | candidates |",
             "|---|---|---|---|---|"]
    for size in sizes:
        corpus = tmp / f"mem{size}.jsonl"
        build_corpus(corpus, size)
        # The process's own peak from VmHWM: ru_maxrss survives exec on Linux, so it would report this (larger)
        # bench process's size at the fork instead where that is higher.
        code = (f"import json,resource,time;from vocabx.analyze import AnalyzeConfig,analyze;t=time.time();"
                f"r=analyze(AnalyzeConfig(corpus=({str(corpus)!r},),tokenizer={str(LLAMA)!r},out={str(tmp / 'mo')!r},force=True));"
                f"hwm=[int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')];"
                f"print(json.dumps([time.time()-t,(hwm or [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss])[0],"
                f"resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,r.counts['candidates']]))")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        seconds, self_kb, child_kb, cands = json.loads(proc.stdout.strip().splitlines()[-1])
        lines.append(f"| {size:g} | {seconds:.1f} | {self_kb / 1024:.0f} | {child_kb / 1024:.0f} | {cands:,} |")
        print(lines[-1], flush=True)
        corpus.unlink()
    return lines


def quality(tmp: Path) -> list[str]:
    import jieba.analyse

    items = []
    for name in ("csl_train_few_all.json", "csl_dev_few_all.json"):
        items += [json.loads(line) for line in (SHARED / "gold" / name).open(encoding="utf-8") if line.strip()]
    abstracts = list(dict.fromkeys(item["abst"] for item in items))
    text = "\n".join(abstracts)
    gold = {k for item in items if str(item.get("label")) == "1" for k in item["keyword"] if text.count(k) >= 2}
    corpus = tmp / "csl.jsonl"
    corpus.write_text("".join(json.dumps({"text": a}, ensure_ascii=False) + "\n" for a in abstracts), encoding="utf-8")
    ranked = {}
    for objective in ("domain", "tokens"):
        _, result = run_analyze(corpus, str(LLAMA), tmp / f"q-{objective}", min_freq=2, top=0, max_len=8,
                                objective=objective)
        with open(result.out / "terms.tsv", encoding="utf-8") as fh:
            ranked[objective] = [row["term"] for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)]
    lines = [f"CSL abstracts: {len(abstracts)} distinct, {len(gold)} genuine keywords (label 1) occurring at least twice "
             "in the concatenated abstracts. A keyword counts as found when a top-K term equals it exactly (same "
             "string); both systems see the same text (abstracts joined by newlines; TF-IDF gets it as one document, "
             "`analyze` as one document per abstract, min_freq 2, max_len 8, Llama-2 tokenizer).", "",
             "| K | vocabx analyze (default, objective domain) | vocabx analyze --objective tokens | "
             "baseline: jieba TF-IDF extract_tags |", "|---|---|---|---|"]
    for k in (50, 100, 200, 500):
        tfidf = set(jieba.analyse.extract_tags(text, topK=k))
        ours = [len(gold & set(ranked[o][:k])) / len(gold) for o in ("domain", "tokens")]
        lines.append(f"| {k} | {ours[0]:.3f} | {ours[1]:.3f} | {len(gold & tfidf) / len(gold):.3f} |")
        print(lines[-1], flush=True)
    return lines


def merge_sections(old: str, header: list[str], sections: dict[str, list[str]]) -> str:
    """The results file with `sections` (title -> lines) replaced or added and every other `### ` section of
    `old` kept as it was (a run with --skip-memory must not wipe the memory figures of an earlier full run)."""
    kept: dict[str, list[str]] = {}
    title = None
    for line in old.splitlines():
        if line.startswith("### "):
            title = line[4:].strip()
            kept[title] = []
        elif title is not None:
            kept[title].append(line)
    out = header[:]
    merged = {**kept, **sections}  # kept sections stay in place, new ones follow, hand-written notes go last
    if "Notes" in merged:
        merged["Notes"] = merged.pop("Notes")
    for name, lines in merged.items():
        body = "\n".join(lines).strip("\n")
        out += ["", f"### {name}", "", body]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=float, nargs="+", default=[10, 30, 100])
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs, in turn")
    parser.add_argument("--baseline", type=Path, help="a tree holding an older vocabx package, e.g. from "
                        "`git archive HEAD~1 vocabx | tar -x -C DIR`: adds the before/after CPU table")
    parser.add_argument("--baseline-workers", type=int, nargs="+", default=[1, 0],
                        help="workers for the before/after runs (1: every stage's CPU in one process; 0: all cores)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "analyze.md"))
    args = parser.parse_args()
    command = f"Command: `python bench/bench_analyze.py {' '.join(sys.argv[1:])}`"
    sections: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if not args.skip_throughput:
            sections["Throughput"] = [command, ""] + throughput(tmp, args.repeat)
        for workers in args.baseline_workers if args.baseline else []:
            sections[f"Before and after, workers={workers}"] = [command, ""] + before_after(
                tmp, args.baseline, args.repeat, workers)
        if not args.skip_quality:
            sections["Quality"] = [command, ""] + quality(tmp)
        if not args.skip_memory:
            sections["Memory"] = [command, ""] + memory(tmp, args.sizes_mb)
    out = Path(args.out)
    old = out.read_text(encoding="utf-8") if out.is_file() else ""
    header = ["## vocabx analyze", "", f"Machine: {MACHINE}."]
    out.write_text(merge_sections(old, header, sections), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
