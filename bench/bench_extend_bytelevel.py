"""Benchmark the byte-level BPE extender on SmolLM2 (49,152 entries) against Qwen2's 151k vocabulary, side by side.

Mines terms from the medical dialogues minus the hold-out (rows index % 10 == 0) with `vocabx analyze`, extends SmolLM2
by 5k and 20k entries in terms mode and in train mode (continued BPE training), and reports on the held-out slice:
chars/token (vs base and qwen2); on general English and Chinese: token totals before/after and documents that got
longer; encode throughput of the extended tokenizer vs the base vs `add_tokens` with the same entries; build times.

    python bench/bench_extend_bytelevel.py [--budgets 5000 20000] [--out bench/results/extend_bytelevel.md]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from checks import hf_round_trip, never_longer

SHARED = Path(os.environ.get("VOCABX_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
DIALOGUES = SHARED / "corpora" / "medical-zh" / "dialogues.csv"
GENERAL_EN = SHARED / "corpora" / "general-en"
GENERAL_ZH = SHARED / "corpora" / "general-zh" / "tnews_unlabeled.json"
MACHINE = "2-core CPU, 24 GB (shared with other engineers' jobs: ratios measured side by side are what count)"


def dialogues() -> tuple[list[str], list[str]]:
    """(mining/training texts, held-out texts): the hold-out is every row with index % 10 == 0."""
    with open(DIALOGUES, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    texts = [f"{r['title']}\n{r['ask']}\n{r['answer']}" for r in rows]
    return [t for i, t in enumerate(texts) if i % 10], [t for i, t in enumerate(texts) if i % 10 == 0]


def general() -> dict[str, list[str]]:
    en = [line for line in (GENERAL_EN / "wiki_demo.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    en += [json.loads(line)["text"] for line in (GENERAL_EN / "c4_demo.jsonl").read_text(encoding="utf-8").splitlines()]
    zh = [json.loads(line)["sentence"] for line in GENERAL_ZH.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {"general-en": en, "general-zh": zh}


def mine_terms(train: list[str], tmp: Path) -> Path:
    """`vocabx analyze` on the training slice; returns the analysis directory."""
    from vocabx.analyze import AnalyzeConfig, analyze

    corpus = tmp / "med_train.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in train), encoding="utf-8")
    out = tmp / "analysis"
    analyze(AnalyzeConfig(corpus=(str(corpus),), tokenizer="smollm2", out=str(out), top=0, force=True))
    return out


def best_seconds(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def build(base, terms: list[str], train: list[str], budgets: list[int]) -> dict[str, tuple[object, float]]:
    from vocabx.extend.bytelevel import ByteLevelBPEExtender

    built = {}
    for budget in budgets:
        for mode in ("terms", "train"):
            start = time.perf_counter()
            ext = ByteLevelBPEExtender(mode=mode).extend(base, terms, budget, train)
            built[f"+{budget // 1000}k {mode}"] = (ext, time.perf_counter() - start)
            print(f"built +{budget} {mode}: {ext.counts} in {built[f'+{budget // 1000}k {mode}'][1]:.1f} s", file=sys.stderr)
    return built


def add_tokens_twin(base, extension):
    """The same entries via `Tokenizer.add_tokens` (whole-text entries only: added tokens cannot hold half a char)."""
    from tokenizers import AddedToken, Tokenizer

    tok = Tokenizer.from_str(base.json_text)
    tok.add_tokens([AddedToken(e.text.strip(), normalized=False) for e in extension.added if "\ufffd" not in e.text])
    return tok


def _largest_terms(built: dict) -> tuple[str, tuple[object, float]]:
    """The terms-mode extension with the largest budget: its terms are what one would pass to add_tokens."""
    return [(k, v) for k, v in built.items() if k.endswith("terms")][-1]


def lengths(encoder, texts: list[str]) -> list[int]:
    return [len(e.ids) for e in encoder.encode_batch(texts, add_special_tokens=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "extend_bytelevel.md"))
    args = parser.parse_args()
    from vocabx.adapters import load_tokenizer
    from vocabx.extend.terms import read_terms

    train, held = dialogues()
    corpora = general()
    base, qwen = load_tokenizer("smollm2"), load_tokenizer("qwen2")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        terms = read_terms(mine_terms(train, Path(tmp))).terms
        analyze_s = time.perf_counter() - start
    built = build(base, terms, train, args.budgets)
    for name, (ext, _) in built.items():  # nothing is reported from a lossy tokenizer
        hf_round_trip(f"smollm2 {name}", ext.extended.tokenizer,
                      held + corpora["general-zh"][:2000] + corpora["general-en"][:200])
    held_chars = sum(map(len, held))
    lines = [
        "## Byte-level BPE extension (`vocabx extend`, SmolLM2)", "",
        f"Command: `python bench/bench_extend_bytelevel.py --budgets {' '.join(map(str, args.budgets))}`. Machine: {MACHINE}.",
        (f"Mining/training set: {len(train)} medical dialogues ({sum(map(len, train)):,} chars); held-out: {len(held)} "
        f"(rows index % 10 == 0, {held_chars:,} chars), never mined or trained on. Terms: `vocabx analyze` "
        f"({len(terms):,} candidates, {analyze_s:.0f} s)."), "",
        "### Held-out chars/token", "",
        "| tokenizer | entries | chars/token | tokens | vs base | build (s) |", "|---|---|---|---|---|---|",
    ]
    base_tokens = sum(lengths(base.tokenizer, held))
    lines.append(f"| smollm2 (base) | {base.vocab_size:,} | {held_chars / base_tokens:.3f} | {base_tokens:,} | 1.00x | - |")
    for name, (ext, seconds) in built.items():
        n = sum(lengths(ext.extended.tokenizer, held))
        lines.append(f"| smollm2 {name} | {ext.extended.vocab_size:,} | {held_chars / n:.3f} | {n:,} | {base_tokens / n:.2f}x | {seconds:.1f} |")
    q = sum(lengths(qwen.tokenizer, held))
    lines.append(f"| qwen2 | {qwen.vocab_size:,} | {held_chars / q:.3f} | {q:,} | {base_tokens / q:.2f}x | - |")
    lines += general_section(base, built, corpora)
    lines += throughput_section(base, built, held, corpora)
    lines += full_run_section(train, max(args.budgets))
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")


def general_section(base, built, corpora) -> list[str]:
    lines = ["", "### General text: never longer", "",
             "| tokenizer | corpus | docs | tokens before | tokens after | docs longer | worst doc delta |", "|---|---|---|---|---|---|---|"]
    for name, (ext, _) in built.items():
        for cname, docs in corpora.items():
            before, after = lengths(base.tokenizer, docs), lengths(ext.extended.tokenizer, docs)
            never_longer(f"smollm2 {name} on {cname}", before, after)
            deltas = [a - b for a, b in zip(after, before)]
            lines.append(f"| {name} | {cname} | {len(docs):,} | {sum(before):,} | {sum(after):,} | {sum(d > 0 for d in deltas)} | {max(deltas):+d} |")
    # The baseline the issue argues against: the same entries as added tokens.
    name, (ext, _) = _largest_terms(built)
    twin = add_tokens_twin(base, ext)
    for cname, docs in corpora.items():
        before, after = lengths(base.tokenizer, docs), lengths(twin, docs)
        deltas = [a - b for a, b in zip(after, before)]
        lines.append(f"| add_tokens ({name} entries) | {cname} | {len(docs):,} | {sum(before):,} | {sum(after):,} | {sum(d > 0 for d in deltas)} | {max(deltas):+d} |")
    return lines


def throughput_section(base, built, held, corpora, rounds: int = 5) -> list[str]:
    """Encode speed on one thread per corpus, interleaved: each round times every tokenizer once, so drift on the
    shared machine hits all alike; the best round per tokenizer counts."""
    sets = {"held-out": held, "general-en": corpora["general-en"][:300], "general-zh": corpora["general-zh"][:3000]}
    name, (ext, _) = _largest_terms(built)
    encoders = {"smollm2 (base)": base.tokenizer, **{f"smollm2 {k}": e.extended.tokenizer for k, (e, _) in built.items()}}
    encoders[f"add_tokens ({name} entries)"] = add_tokens_twin(base, ext)
    rates: dict[str, dict[str, float]] = {label: {} for label in encoders}
    previous = os.environ.get("TOKENIZERS_PARALLELISM")
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one thread: the other jobs on this machine skew thread pools
    try:
        for corpus, texts in sets.items():
            mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
            best = {label: float("inf") for label in encoders}
            for _ in range(rounds):
                for label, encoder in encoders.items():
                    start = time.perf_counter()
                    encoder.encode_batch(texts, add_special_tokens=False)
                    best[label] = min(best[label], time.perf_counter() - start)
            for label, seconds in best.items():
                rates[label][corpus] = mb / seconds
    finally:
        os.environ.pop("TOKENIZERS_PARALLELISM") if previous is None else os.environ.update(TOKENIZERS_PARALLELISM=previous)
    base_rates = rates["smollm2 (base)"]
    lines = ["", (f"### Encode throughput (MB/s, `encode_batch` on one thread, same backend, best of {rounds} interleaved "
             "rounds; in brackets: vs base)"), "", "| tokenizer | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for label, per in rates.items():
        cells = [f"{per[c]:.2f} ({per[c] / base_rates[c]:.2f}x)" for c in sets]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def full_run_section(train: list[str], budget: int) -> list[str]:
    """The whole `vocabx extend` library call (corpus read, training, checks, save, manifest), timed once."""
    from vocabx.extend import ExtendConfig, extend

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "med_train.jsonl"
        corpus.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in train), encoding="utf-8")
        general = (str(GENERAL_EN), f"{GENERAL_ZH}#sentence")
        config = ExtendConfig(base="smollm2", out=str(Path(tmp) / "out"), budget=budget, mode="train",
                              corpus=(str(corpus),), general=general)
        result = extend(config)
    checks = ", ".join(f"{k} {'ok' if v['passed'] else 'n/a' if v['passed'] is None else 'FAIL'}" for k, v in result.checks.items())
    return ["", "### Full command", "",
            (f"`vocabx extend smollm2 --mode train --budget {budget} --corpus med_train.jsonl --general general-en "
            f"--general tnews_unlabeled.json#sentence` as a library call: {result.seconds:.1f} s in all (corpus read, "
            f"training, checks on up to 1,000 documents per corpus, save). Checks: {checks}.")]


if __name__ == "__main__":
    main()
