"""Benchmark `vocabx analyze`: throughput against plain `jieba.lcut` (same text, same run), peak memory at several
corpus sizes, and term quality (recall@K of CSL author keywords) against jieba's TF-IDF `extract_tags`.

    python bench/bench_analyze.py [--sizes-mb 10 30 100] [--skip-memory] [--out bench/results/analyze.md]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(os.environ.get("VOCABX_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
DIALOGUES = SHARED / "corpora" / "medical-zh" / "dialogues.csv"
LLAMA = SHARED / "tokenizers" / "llama2" / "tokenizer.model"
MACHINE = "2-core CPU, 24 GB (shared with other engineers' jobs: ratios measured side by side are what count)"


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


def throughput(tmp: Path) -> list[str]:
    import jieba

    texts = training_texts()
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    corpus = tmp / "med.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    jieba.initialize()
    cpu0 = _cpu()
    start = time.perf_counter()
    for text in texts:
        jieba.lcut(text)
    t_jieba = time.perf_counter() - start
    lines = [f"Medical dialogues, training rows: {len(texts):,} documents, {mb:.2f} MB UTF-8. CPU s: user+sys of "
             "this process and its workers (what the shared machine cannot inflate as much as wall time).", "",
             "| what | seconds | CPU s | MB/s | vs jieba.lcut (wall) |", "|---|---|---|---|---|",
             f"| baseline: `jieba.lcut` on every document (segmentation only) | {t_jieba:.2f} | {_cpu() - cpu0:.2f} | "
             f"{mb / t_jieba:.2f} | 1.00x |"]
    for name, tok in (("llama2 (SentencePiece)", str(LLAMA)), ("smollm2 (byte-level BPE)", "smollm2")):
        cpu0 = _cpu()
        seconds, result = run_analyze(corpus, tok, tmp / "out")
        stages = ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items())
        stages += "; CPU s: " + ", ".join(f"{k} {v:.2f}" for k, v in getattr(result, "cpu_timings", {}).items())
        lines.append(f"| `analyze` end to end, tokenizer {name} | {seconds:.2f} | {_cpu() - cpu0:.2f} | "
                     f"{mb / seconds:.2f} | {t_jieba / seconds:.2f}x |")
        lines.append(f"|   stages (s): {stages} | | | | |")
        print(lines[-2], "\n", lines[-1], flush=True)
    print(lines[4], flush=True)
    return lines


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
    lines = ["| corpus MB | seconds | peak RSS, main process (MB) | peak RSS, largest worker (MB) | candidates |",
             "|---|---|---|---|---|"]
    for size in sizes:
        corpus = tmp / f"mem{size}.jsonl"
        build_corpus(corpus, size)
        code = (f"import json,resource,time;from vocabx.analyze import AnalyzeConfig,analyze;t=time.time();"
                f"r=analyze(AnalyzeConfig(corpus=({str(corpus)!r},),tokenizer={str(LLAMA)!r},out={str(tmp / 'mo')!r},force=True));"
                f"print(json.dumps([time.time()-t,resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=float, nargs="+", default=[10, 30, 100])
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "analyze.md"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sections = ["## vocabx analyze", "", f"Command: `python bench/bench_analyze.py {' '.join(sys.argv[1:])}`".strip(),
                    f"Machine: {MACHINE}.", "", "### Throughput", ""] + throughput(tmp)
        sections += ["", "### Quality", ""] + quality(tmp)
        if not args.skip_memory:
            sections += ["", "### Memory", ""] + memory(tmp, args.sizes_mb)
    Path(args.out).write_text("\n".join(sections) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
