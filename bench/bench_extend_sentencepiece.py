"""Benchmark SentencePiece extension on Llama-2 against the Chinese-LLaMA recipe, in one run.

Held-out: medical dialogue rows with index % 10 == 0; everything else is mined / trained on. Compared:
  (a) Chinese-LLaMA: Llama-2 merged with chinese_sp.model the way that project does it (score 0 appends);
  (b) domain recipe: a 20k SentencePiece BPE trained on the mining text, merged Chinese-LLaMA style;
  vocabx, scope=terms: 20k entries for the terms `vocabx analyze` mined from the same text;
  vocabx, scope=corpus: 20k entries learned on all of the mining text.
Reports chars/token on the held-out slice, general-text token counts (never longer), reachability, round trips,
fast/slow agreement, build time and encode throughput (same backend; and vs add_tokens with the same entries).

    python bench/bench_extend_sentencepiece.py [--budget 20000] [--out bench/results/extend_sentencepiece.md]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(os.environ.get("VOCABX_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
DIALOGUES = SHARED / "corpora" / "medical-zh" / "dialogues.csv"
LLAMA = SHARED / "tokenizers" / "llama2" / "tokenizer.model"
CHINESE_SP = SHARED / "tokenizers" / "chinese-llama-sp" / "chinese_sp.model"
MACHINE = "2-core CPU, 24 GB (shared with other engineers' jobs: ratios measured side by side are what count)"


def medical() -> tuple[list[str], list[str]]:
    """(mining, held-out) texts: title + ask + answer; held-out rows are index % 10 == 0."""
    with open(DIALOGUES, encoding="utf-8") as fh:
        rows = [f"{r['title']}\n{r['ask']}\n{r['answer']}" for r in csv.DictReader(fh)]
    return [t for i, t in enumerate(rows) if i % 10], [t for i, t in enumerate(rows) if i % 10 == 0]


def general() -> dict[str, list[str]]:
    en = [ln for ln in (SHARED / "corpora/general-en/wiki_demo.txt").read_text(encoding="utf-8").splitlines() if ln.strip()]
    with open(SHARED / "corpora/general-en/c4_demo.jsonl", encoding="utf-8") as fh:
        en += [json.loads(ln)["text"] for ln in fh if ln.strip()]
    with open(SHARED / "corpora/general-zh/tnews_unlabeled.json", encoding="utf-8") as fh:
        zh = [json.loads(ln)["sentence"] for ln in fh if ln.strip()]
    return {"general-en": en, "general-zh": zh}


def mine_terms(mining: list[str], tmp: Path) -> tuple[list[str], float]:
    """Terms from `vocabx analyze` on the mining text: every candidate of its terms.tsv, in its order."""
    from vocabx.analyze import AnalyzeConfig, analyze
    from vocabx.extend.terms import read_terms

    corpus = tmp / "mining.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in mining), encoding="utf-8")
    start = time.perf_counter()
    config = AnalyzeConfig(corpus=(str(corpus),), tokenizer=str(LLAMA), out=str(tmp / "analyze"), top=0)
    analyze(config)
    return read_terms(tmp / "analyze").terms, time.perf_counter() - start


def domain_bpe(mining: list[str], size: int) -> bytes:
    """Baseline (b)'s donor: a SentencePiece BPE trained on the mining text with default options."""
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(mining), model_writer=buf, vocab_size=size, model_type="bpe",
        max_sentence_length=1 << 16, num_threads=2, minloglevel=2,
    )
    return buf.getvalue()


def build_all(budget: int, mining: list[str], terms: list[str]) -> dict[str, dict]:
    from vocabx.adapters import SentencePieceAdapter
    from vocabx.extend.sentencepiece import SentencePieceExtender
    from vocabx.extend.sp_merge import merge_models

    base = SentencePieceAdapter.from_file(LLAMA, name="llama2")
    built: dict[str, dict] = {"Llama-2 (base)": {"adapter": base, "seconds": 0.0, "added": 0}}
    start = time.perf_counter()
    model, appended = merge_models(base.model_bytes, CHINESE_SP.read_bytes())
    built["(a) Chinese-LLaMA merge"] = {"adapter": SentencePieceAdapter(model, "a", "a"), "seconds": time.perf_counter() - start, "added": len(appended)}
    start = time.perf_counter()
    model, appended = merge_models(base.model_bytes, domain_bpe(mining, budget))
    built["(b) domain SP-BPE 20k, merged"] = {"adapter": SentencePieceAdapter(model, "b", "b"), "seconds": time.perf_counter() - start, "added": len(appended)}
    for scope in ("terms", "corpus"):
        start = time.perf_counter()
        ext = SentencePieceExtender(scope=scope).extend(base, terms, budget, corpus=mining)
        built[f"vocabx scope={scope}"] = {
            "adapter": ext.extended, "seconds": time.perf_counter() - start, "added": len(ext.added), "extension": ext,
        }
    return built


def running_ids(adapter, texts: list[str]) -> list[list[int]]:
    from vocabx.extend.sentencepiece import _variant

    return _variant(adapter.proto, add_dummy_prefix=False).encode(texts)


def never_longer(base, adapter, corpora: dict[str, list[str]]) -> dict[str, tuple[int, int, int, int]]:
    """corpus -> (tokens before, tokens after, documents longer, worst delta)."""
    out = {}
    for name, docs in corpora.items():
        before = [len(x) for x in base.encode_batch(docs)]
        after = [len(x) for x in adapter.encode_batch(docs)]
        deltas = [a - b for a, b in zip(after, before)]
        out[name] = (sum(before), sum(after), sum(d > 0 for d in deltas), max(deltas))
    return out


def usage(base_size: int, adapter, texts: list[str]) -> tuple[int, int]:
    """(new pieces, new pieces never produced on `texts`)."""
    used = {i for ids in adapter.encode_batch(texts) for i in ids if i >= base_size}
    total = adapter.vocab_size - base_size
    return total, total - len(used)


def throughput(adapter, texts: list[str], repeat: int = 3) -> float:
    """Characters per second of encode_batch, best of `repeat`."""
    chars = sum(map(len, texts))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        adapter.encode_batch(texts)
        best = min(best, time.perf_counter() - start)
    return chars / best


def checks(ours, base, held: list[str], corpora: dict[str, list[str]], tmp: Path) -> dict[str, str]:
    """Lossless, fast == slow, reachability and determinism for one vocabx extension."""
    from vocabx.adapters import HFTokenizerAdapter
    from vocabx.extend.probes import PROBE_TEXTS, random_unicode
    from vocabx.extend.sentencepiece import SentencePieceExtender

    ext, new = ours["extension"], ours["adapter"]
    sample = [*held, *corpora["general-en"][:500], *corpora["general-zh"][:2000], *PROBE_TEXTS, *random_unicode(1000, 0)]
    lossless = sum(new.decode(ids) == t for t, ids in zip(sample, new.encode_batch(sample)))
    a, b = tmp / "save1", tmp / "save2"
    files = SentencePieceExtender().save(ext, a)
    SentencePieceExtender().save(ext, b)
    same = all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    fast = HFTokenizerAdapter.from_file(a / "tokenizer.json")
    agree = sum(x == y for x, y in zip(fast.encode_batch(sample), new.encode_batch(sample)))
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(str(a))
    auto_agree = sum(auto.encode(t, add_special_tokens=False) == ids for t, ids in zip(sample, new.encode_batch(sample)))
    terms = [e for e in ext.added if e.kind == "term"]
    reach = sum(ids == [e.id] for e, ids in zip(terms, running_ids(new, [e.text for e in terms])))
    return {
        "lossless (decode(encode(x)) == x)": f"{lossless}/{len(sample)} texts (held-out, general, probes, 1,000 random Unicode)",
        "tokenizer.json == sentencepiece": f"{agree}/{len(sample)} texts; AutoTokenizer (fast) == sentencepiece: {auto_agree}/{len(sample)}",
        "term pieces produced in running text": f"{reach}/{len(terms)}",
        "deterministic save": "byte-identical" if same else "DIFFERENT",
        "skips": ", ".join(f"{k} {len(v)}" for k, v in sorted(ext.skipped.items())) or "none",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=20000)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "extend_sentencepiece.md"))
    args = parser.parse_args()
    for path in (DIALOGUES, LLAMA, CHINESE_SP):
        if not path.is_file():
            sys.exit(f"missing shared data: {path} (set VOCABX_SHARED_DATA)")
    mining, held = medical()
    corpora = general()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        terms, analyze_s = mine_terms(mining, tmp)
        built = build_all(args.budget, mining, terms)
        base = built["Llama-2 (base)"]["adapter"]
        held_chars = sum(map(len, held))
        rows = []
        for name, item in built.items():
            adapter = item["adapter"]
            tokens = adapter.count_tokens(held)
            longer = never_longer(base, adapter, corpora)
            _, unused = usage(base.vocab_size, adapter, held + mining)
            rows.append((name, adapter.vocab_size, item["added"], held_chars / tokens, tokens, longer, unused, item["seconds"]))
        checks_by = {n: checks(built[n], base, held, corpora, tmp / n.replace(" ", "_")) for n in built if n.startswith("vocabx")}
        speed = speeds(built, held, tmp)
    report = render(args, rows, checks_by, speed, len(terms), analyze_s, len(mining), len(held), held_chars)
    print(report)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report, encoding="utf-8")


def speeds(built: dict[str, dict], held: list[str], tmp: Path) -> dict[str, float]:
    """Encode throughput (chars/s): sentencepiece base vs extended; tokenizer.json base vs extended vs add_tokens."""
    from vocabx.adapters import HFTokenizerAdapter
    from vocabx.extend.added_tokens import AddedTokensExtender
    from vocabx.extend.sentencepiece import sentencepiece_to_json

    base = built["Llama-2 (base)"]["adapter"]
    ours = built["vocabx scope=corpus"]
    texts = held * 2
    entries = [e.text for e in ours["extension"].added if not e.text.startswith(" ")]
    added = AddedTokensExtender().extend(base, entries, len(entries)).extended
    return {
        "sentencepiece: Llama-2": throughput(base, texts),
        "sentencepiece: vocabx scope=corpus": throughput(ours["adapter"], texts),
        "tokenizer.json: Llama-2": throughput(HFTokenizerAdapter(sentencepiece_to_json(base.model_bytes), "b", "b"), texts),
        "tokenizer.json: vocabx scope=corpus": throughput(
            HFTokenizerAdapter(sentencepiece_to_json(ours["adapter"].model_bytes), "o", "o"), texts
        ),
        f"tokenizer.json: Llama-2 + add_tokens (same {len(entries)} entries)": throughput(added, texts),
    }


def render(args, rows, checks_by, speed, n_terms, analyze_s, n_mining, n_held, held_chars) -> str:
    base_cpt = rows[0][3]
    b_cpt = next(r[3] for r in rows if r[0].startswith("(b)"))
    lines = [
        "## SentencePiece extension (Llama-2) vs the Chinese-LLaMA recipe",
        "",
        f"Command: `python bench/bench_extend_sentencepiece.py --budget {args.budget}`  ",
        f"Machine: {MACHINE}.  ",
        (
            f"Data: medical dialogues, {n_mining} mining rows, {n_held} held-out rows (index % 10 == 0, {held_chars:,} "
            f"chars). Terms: `vocabx analyze` (terms.tsv, all {n_terms:,} candidates, {analyze_s:.0f} s) on the "
            "mining rows."
        ),
        "",
        "| tokenizer | vocab | new | held-out chars/token | vs base | vs (b) | held-out tokens | new pieces never used on medical text | build s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, vocab, added, cpt, tokens, _, unused, secs in rows:
        lines.append(
            f"| {name} | {vocab:,} | {added:,} | {cpt:.3f} | {cpt / base_cpt:.2f}x | {100 * (cpt / b_cpt - 1):+.1f}% | "
            f"{tokens:,} | {unused:,} | {secs:.1f} |"
        )
    lines += [
        "",
        (
            "How to read it: vocabx scores every new piece below every Llama-2 piece, so Llama-2's own merges run first and "
            "new pieces only merge their result further: no text can get longer, and general text barely changes. "
            "(a) and (b) append with score 0: new pieces pre-empt Llama-2's merges and tie with each other (leftmost pair "
            "wins). scope=terms spends the budget on the analyze terms and their intermediates only; scope=corpus learns "
            "on all mining text, so phrases and punctuation-attached pieces (`吗？`) compete for the budget too."
        ),
    ]
    lines += ["", "General text, tokens before -> after (documents longer than with Llama-2; worst delta):", ""]
    lines += ["| tokenizer | " + " | ".join(rows[0][5]) + " |", "|---|" + "---|" * len(rows[0][5])]
    for name, *_, longer, _unused, _secs in rows:
        cells = [f"{b:,} -> {a:,} ({n} longer; worst {w:+d})" for b, a, n, w in longer.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for name, figures in checks_by.items():
        lines += ["", f"Guarantees, {name}:", ""]
        lines += [f"- {k}: {v}" for k, v in figures.items()]
    lines += ["", "Encode throughput (held-out x2, best of 3, chars/s):", ""]
    lines += [f"- {k}: {v:,.0f}" for k, v in speed.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
