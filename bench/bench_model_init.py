"""Zero-training quality of embedding initialization: bits per character of SmolLM2-135M-Instruct on held-out
medical dialogues, base versus extended (+5k, +20k entries) with each init method, with no training at all.

Baseline: the base model with its own tokenizer, scored in the same run. The extension comes from vocabx's
byte-level extender (`ByteLevelBPEExtender`, terms mode) fed with the most frequent jieba words (2+ Han characters)
of the non-held-out rows. Writes `bench/results/model_init.md`.

    python bench/bench_model_init.py          # 64 docs x 160 chars, +5k and +20k (~30 min on a shared 2-core CPU)
    python bench/bench_model_init.py --docs 40 --chars 120 --budgets 2000 --methods mean subword-mean
    python bench/bench_model_init.py --tune   # choose subword-first/-last's decay on TRAINING rows (+5k, in memory)

`--tune` never reads the held-out slice except to check the extended tokenizer; it scores training rows from
TUNE_SKIP on and splits the NLL into new-token targets and old-token targets, the latter into what the worse
context costs and what the new tokens' probability mass takes (writes `bench/results/model_init_tuning.md`).
"""

from __future__ import annotations

import argparse
import csv
import logging
import math
import os
import platform
import re
import shlex
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch

from vocabx.adapters import load_tokenizer
from vocabx.eval.bpc import bits_per_character
from vocabx.extend.bytelevel import ByteLevelBPEExtender
from vocabx.model import extend_model, resolve_model
from vocabx.model.init import base_pieces, init_rows

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOCABX_SHARED_DATA") or REPO.parent / "shared" / "data")
DIALOGUES = SHARED / "corpora" / "medical-zh" / "dialogues.csv"
RESULTS = REPO / "bench" / "results" / "model_init.md"
TUNING = REPO / "bench" / "results" / "model_init_tuning.md"
TUNE_SKIP = 2000  # tuning rows start here among the training rows: past the logit-match corpus, never held out
TUNE_CANDIDATES = [  # (label, input method, output method, decay of subword-first/-last)
    ("subword-mean", "subword-mean", "subword-mean", 0.5),
    ("subword-mean-norm", "subword-mean-norm", "subword-mean-norm", 0.5),
    ("subword-last", "subword-last", "subword-last", 0.5),
    ("subword-first", "subword-first", "subword-first", 0.5),
    ("subword-mean/subword-first", "subword-mean", "subword-first", 0.5),
    ("subword-last/subword-first, decay 0.35", "subword-last", "subword-first", 0.35),
    ("subword-last/subword-first, decay 0.5", "subword-last", "subword-first", 0.5),
    ("subword-last/subword-first, decay 0.7", "subword-last", "subword-first", 0.7),
]
START_ID = 0  # <|endoftext|>: SmolLM2's document separator, so every text is scored as a fresh document

# (input init, output init); None = same as the input. logit-match needs its own head, so it unties SmolLM2.
METHODS = {
    "mean": ("mean", None),
    "mean-noise": ("mean-noise", None),
    "subword-mean": ("subword-mean", None),
    "subword-mean-norm": ("subword-mean-norm", None),
    "subword-last": ("subword-last", None),
    "random": ("random", None),
    "zero": ("zero", None),
    "subword-mean/mean": ("subword-mean", "mean"),
    "subword-mean/logit-match": ("subword-mean", "logit-match"),
    "subword-mean/subword-first": ("subword-mean", "subword-first"),
    "subword-last/subword-first": ("subword-last", "subword-first"),
}
HAN = re.compile(r"^[\u4e00-\u9fff]{2,}$")


def read_dialogues() -> tuple[list[str], list[str]]:
    """(held-out texts, training texts): rows with index % 10 == 0 are held out."""
    held, train = [], []
    with open(DIALOGUES, encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            text = f"{row['title']}\n{row['ask']}\n{row['answer']}"
            (held if i % 10 == 0 else train).append(text)
    return held, train


def frequent_words(texts: list[str], min_count: int = 2) -> list[str]:
    """jieba words of 2+ Han characters, most frequent first (ties by the word, for determinism)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    counts = Counter(w for t in texts for w in jieba.lcut(t, HMM=False) if HAN.match(w))
    return [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count]


def build_extension(base, terms: list[str], budget: int, held: list[str]):
    ext = ByteLevelBPEExtender("terms").extend(base, terms, budget)
    # correctness first: lossless and never longer on the held-out slice
    old, new = base.encode_batch(held), ext.extended.encode_batch(held)
    assert all(ext.extended.decode(n) == t for n, t in zip(new, held)), "extended tokenizer is not lossless"
    assert all(len(n) <= len(o) for n, o in zip(new, old)), "extended tokenizer made a text longer"
    return ext


def score(model_dir: Path, encode, texts: list[str], args: argparse.Namespace):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir)).eval()
    t0 = time.perf_counter()
    res = bits_per_character(model, encode, texts, start_id=START_ID, max_length=args.max_length,
                             stride=args.max_length // 2, batch_size=args.batch_size)
    return res, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=64)
    ap.add_argument("--chars", type=int, default=160, help="truncate each held-out document to this many characters")
    ap.add_argument("--budgets", type=int, nargs="+", default=[5000, 20000])
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--methods-large", nargs="+", default=["mean", "subword-mean", "subword-mean/subword-first",
                    "subword-last/subword-first"], choices=list(METHODS), help="methods for budgets over 10k")
    ap.add_argument("--corpus-docs", type=int, default=30, help="training rows logit-match measures the base on")
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--tune", action="store_true", help="score init variants on training rows instead (see above)")
    args = ap.parse_args()
    torch.manual_seed(0)
    held_all, train = read_dialogues()
    held = [t[: args.chars] for t in held_all[: args.docs]]
    t0 = time.perf_counter()
    terms = frequent_words(train)
    print(f"{len(terms)} candidate words (jieba, >= 2 occurrences) in {time.perf_counter() - t0:.0f} s", flush=True)
    if args.tune:
        return tune(args, terms, held_all, train)
    corpus = [t[: args.chars] for t in train[: args.corpus_docs]]
    base_tok = load_tokenizer("smollm2")
    model_dir = resolve_model("smollm2-135m")
    base_res, base_s = score(model_dir, base_tok.encode, held, args)
    print(f"base: bpc {base_res.bpc:.4f}, {base_res.tokens} tokens ({base_s:.0f} s)", flush=True)
    rows = [("base", "-", base_res.tokens, base_res.chars_per_token, "-", base_res.bpc, 0.0, "-", None)]
    for budget in args.budgets:
        ext = build_extension(base_tok, terms, budget, held)
        n_terms = sum(e.kind == "term" for e in ext.added)
        print(f"+{budget}: {len(ext.added)} entries ({n_terms} terms)", flush=True)
        for label in args.methods if budget <= 10000 else args.methods_large:
            init, init_output = METHODS[label]
            with tempfile.TemporaryDirectory(prefix="vocabx-bench-") as tmp:
                out = Path(tmp) / "model"
                t1 = time.perf_counter()
                counts = extend_model("smollm2-135m", ext, out, init=init, init_output=init_output,
                                      check_forward=False, corpus=corpus)
                ext_s = time.perf_counter() - t1
                res, _ = score(out, ext.extended.encode, held, args)
            delta = 100 * (res.bpc / base_res.bpc - 1)
            note = _note(counts)
            print(f"  {label:26s} bpc {res.bpc:.4f} ({delta:+.1f}%)  extend {ext_s:.1f} s  {note}", flush=True)
            rows.append((f"+{len(ext.added)} (budget {budget})", label, res.tokens, res.chars_per_token, n_terms, res.bpc, delta, note, ext_s))
    write_results(rows, args, held, base_res, len(terms))


def tune(args: argparse.Namespace, terms: list[str], held_all: list[str], train: list[str]) -> None:
    """Each TUNE_CANDIDATES variant's NLL parts on training rows, the new rows swapped into one model in memory."""
    from transformers import AutoModelForCausalLM

    base_tok = load_tokenizer("smollm2")
    ext = build_extension(base_tok, terms, 5000, held_all[: args.docs])
    nb, added = base_tok.vocab_size, sorted(ext.added, key=lambda e: e.id)
    assert [e.id for e in added] == list(range(nb, nb + len(added))), "new ids must follow the base vocabulary"
    pieces = [base_pieces(e, base_tok) for e in added]
    texts = [t[: args.chars] for t in train[TUNE_SKIP : TUNE_SKIP + args.docs]]
    model = AutoModelForCausalLM.from_pretrained(str(resolve_model("smollm2-135m"))).eval()
    old = model.get_input_embeddings().weight.detach()[:nb].clone()
    parts = [("base", nll_parts(model, [[START_ID, *base_tok.encode(t)] for t in texts], nb, args))]
    print(f"base: bpc {parts[0][1]['nats'] / math.log(2) / sum(map(len, texts)):.4f}", flush=True)
    seqs = [[START_ID, *ext.extended.encode(t)] for t in texts]
    for label, m_in, m_out, decay in TUNE_CANDIDATES:
        rows_in = init_rows(m_in, old, pieces, decay=decay)[0]
        rows_out = None if m_out == m_in else torch.cat([old, init_rows(m_out, old, pieces, decay=decay)[0]])
        _swap_rows(model, torch.cat([old, rows_in]), rows_out)
        parts.append((label, nll_parts(model, seqs, nb, args)))
        print(f"  {label:40s} bpc {parts[-1][1]['nats'] / math.log(2) / sum(map(len, texts)):.4f}", flush=True)
    write_tuning(parts, args, texts, len(added))


def _swap_rows(model: torch.nn.Module, emb: torch.Tensor, head: torch.Tensor | None) -> None:
    """Give `model` the input matrix `emb` and a head tied to it (head None) or its own matrix `head`."""
    n, d = emb.shape
    embedding = torch.nn.Embedding.from_pretrained(emb.contiguous(), freeze=True)
    model.set_input_embeddings(embedding)
    linear = torch.nn.Linear(d, n, bias=False)
    linear.weight = embedding.weight if head is None else torch.nn.Parameter(head.contiguous(), requires_grad=False)
    model.set_output_embeddings(linear)
    model.config.vocab_size = n


@torch.inference_mode()
def nll_parts(model: torch.nn.Module, seqs: list[list[int]], nb: int, args: argparse.Namespace) -> dict[str, float]:
    """NLL (nats) of every target, split: new-token targets; old-token targets, and of those the NLL within the
    old vocabulary (the context's cost) and log(Z_all / Z_old) (the mass new tokens take)."""
    assert max(map(len, seqs)) <= args.max_length, "--tune scores each text in one window: lower --chars"
    out = dict.fromkeys(("nats", "new", "old", "old_in_old_vocab", "stolen", "new_targets", "old_targets"), 0.0)
    seqs = sorted(seqs, key=len)
    for b in range(0, len(seqs), args.batch_size):
        batch = seqs[b : b + args.batch_size]
        ids = torch.zeros(len(batch), max(map(len, batch)), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for r, seq in enumerate(batch):
            ids[r, : len(seq)], mask[r, : len(seq)] = torch.tensor(seq), 1
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].double()
        target, valid = ids[:, 1:], mask[:, 1:].bool()
        z_all, z_old = torch.logsumexp(logits, -1), torch.logsumexp(logits[..., :nb], -1)
        nll = z_all - logits.gather(-1, target[..., None])[..., 0]
        new, old = valid & (target >= nb), valid & (target < nb)
        out["new"] += float(nll[new].sum())
        out["old"] += float(nll[old].sum())
        out["stolen"] += float((z_all - z_old)[old].sum())
        out["new_targets"] += int(new.sum())
        out["old_targets"] += int(old.sum())
    out["nats"] = out["new"] + out["old"]
    out["old_in_old_vocab"] = out["old"] - out["stolen"]
    return out


def write_tuning(parts: list, args: argparse.Namespace, texts: list[str], n_added: int) -> None:
    chars = sum(map(len, texts))
    base_bpc = parts[0][1]["nats"] / math.log(2) / chars
    lines = [
        "# Embedding initialization: choosing the variants on training rows",
        "",
        "```",
        "python bench/bench_model_init.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "```",
        "",
        (f"SmolLM2-135M-Instruct, +{n_added} entries (as in model_init.md), no training. Rows {TUNE_SKIP} to "
        f"{TUNE_SKIP + len(texts) - 1} of the training rows (index % 10 != 0; the held-out slice is never scored here), "
        f"each truncated to {args.chars} characters ({chars:,} in all). NLL in nats, split by target: new tokens; old "
        "tokens, of which 'context' is the NLL within the old vocabulary (what a worse hidden state costs) and "
        "'taken' is log(Z_all / Z_old) (the probability the new tokens take from them). Input/output = the methods "
        "(one name: tied). Machine: 2-core CPU, 24 GB, shared."),
        "",
        "| init (input/output) | BPC | vs base | new-token targets | old-token targets | of which context | of which taken |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, p in parts:
        bpc = p["nats"] / math.log(2) / chars
        lines.append(f"| {label} | {bpc:.4f} | {100 * (bpc / base_bpc - 1):+.1f}% | {p['new']:,.0f} ({p['new_targets']:.0f}) "
                     f"| {p['old']:,.0f} ({p['old_targets']:.0f}) | {p['old_in_old_vocab']:,.0f} | {p['stolen']:,.0f} |")
    TUNING.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {TUNING}")


def _note(counts: dict) -> str:
    parts = []
    if counts.get("untied"):
        parts.append("untied")
    out = counts.get("init_output_counts")
    if isinstance(out, dict) and "logit_match_fit_rmse" in out:
        parts.append(f"{out['logit_match_seen_in_corpus']} seen in {out['logit_match_corpus_tokens']} corpus tokens, "
                     f"fit rmse {out['logit_match_fit_rmse']}, mean shift {out['logit_match_mean_shift_nats']} nats")
    return "; ".join(parts) or "-"


def write_results(rows, args, held, base_res, n_words) -> None:
    cmd = "python bench/bench_model_init.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    lines = [
        "# Embedding initialization: zero-training bits per character",
        "",
        "```",
        cmd.strip(),
        "```",
        "",
        (f"Model: SmolLM2-135M-Instruct (embedded default, dequantized Q4_1 -> float32, tied head). Held-out: the first "
        f"{len(held)} rows with index % 10 == 0 of medical-zh/dialogues.csv (title + ask + answer), each truncated to "
        f"{args.chars} characters ({base_res.chars:,} characters in all). BPC = total NLL in bits / characters, every "
        f"token predicted (one <|endoftext|> start token per document), window {args.max_length}. Extension: "
        f"`ByteLevelBPEExtender` (terms mode) over {n_words:,} jieba words (2+ Han characters, >= 2 occurrences) of "
        "the other rows, most frequent first; entries include the intermediates their merge chains need (a budget larger "
        "than all candidate words need stops where they run out). logit-match "
        f"measures the base model on the first {args.corpus_docs} training rows (same truncation). "
        f"No training. Machine: 2-core CPU, 24 GB ({platform.machine()}), shared with other jobs."),
        "",
        "| vocabulary | init (input/output) | tokens | chars/token | terms | BPC | vs base | notes | extend s |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for vocab, label, tokens, cpt, terms, bpc, delta, note, secs in rows:
        secs_text = "-" if secs is None else f"{secs:.1f}"
        lines.append(f"| {vocab} | {label} | {tokens:,} | {cpt:.3f} | {terms} | {bpc:.4f} | {delta:+.1f}% | {note} | "
                     f"{secs_text} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
