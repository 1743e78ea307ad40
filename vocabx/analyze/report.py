"""Assembling what an analysis writes: the fragmentation report with the plan's projection (`report.json`), the
two rankings of `terms.tsv`, the plan (`plan.tsv`), the manifest, and the `AnalyzeResult` the CLI renders."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vocabx.analyze.api import AnalyzeResult
from vocabx.analyze.plan import PLAN_FILE, Plan, render_plan
from vocabx.analyze.segment import segmenter_name
from vocabx.analyze.terms import COLUMNS, render_columns
from vocabx.analyze.tokencount import TokenCounter
from vocabx.outputs import atomic_output_dir, build_manifest, write_json

if TYPE_CHECKING:
    from vocabx.analyze.run import Run

log = logging.getLogger(__name__)

REPORT_FORMAT = "vocabx-analyze-report v2"
METHOD = ("the mining corpus's base tokens minus the tokens the plan's first `entries` entries save, as the learner "
          "applied them (every occurrence, leftmost first, as the extended tokenizer does): `vocabx extend --terms "
          "THIS_DIR --budget N` adds exactly these entries to the same base tokenizer")


def word_fertility(words: Counter[str], counter: TokenCounter) -> tuple[float, float, int]:
    """(tokens per word, share of words split into more than one token, words) over the segmenter's words,
    each word tokenized in context."""
    types = list(words)
    if not types:
        return 0.0, 0.0, 0
    freq = np.fromiter(words.values(), dtype=np.float64, count=len(types))
    tokens = counter.piece_counts(types)
    total = freq.sum()
    return float((freq * tokens).sum() / total), float(freq[tokens > 1].sum() / total), int(total)


def projection(plan: Plan, budgets: tuple[int, ...]) -> list[dict[str, Any]]:
    """chars/token of the mining corpus after the first `budget` entries of the plan, for each budget (capped at
    the plan's length: the corpus supports no more entries that save at least `learn.MIN_SCORE`)."""
    saved = np.cumsum([e.saved_a + e.saved_b for e in plan.entries], dtype=np.int64)
    points = []
    for budget in budgets:
        k = min(budget, len(plan.entries))
        tokens = plan.base_tokens - (int(saved[k - 1]) if k else 0)
        points.append({"budget": budget, "entries": k, "tokens": tokens,
                       "chars_per_token": round(plan.chars / max(tokens, 1), 4)})
    return points


def build_report(run: Run) -> dict[str, Any]:
    """The fragmentation report, projection included."""
    scan = run.scan
    tokens = max(scan.tokens, 1)
    fertility, split_share, words = word_fertility(scan.words, run.counter)
    if run.plan.base_tokens != scan.tokens:  # the same corpus and tokenizer: a difference is a bug
        log.warning("plan base tokens %d differ from the scan's %d", run.plan.base_tokens, scan.tokens)
    return {
        "format": REPORT_FORMAT,
        "tokenizer": {"name": run.adapter.name, "family": run.adapter.family, "vocab_size": run.adapter.vocab_size},
        "lang": run.lang,
        "segmenter": segmenter_name(run.lang),
        "documents": scan.documents,
        "chars": scan.chars,
        "bytes": scan.bytes,
        "tokens": scan.tokens,
        "chars_per_token": round(scan.chars / tokens, 4),
        "bytes_per_token": round(scan.bytes / tokens, 4),
        "words": words,
        "tokens_per_word": round(fertility, 4),
        "words_split_share": round(split_share, 4),
        "fallback_kind": run.flag_kind,
        "fallback_rate": round(scan.flagged_tokens / tokens, 4),
        "candidates": len(run.cands),
        "plan_entries": len(run.plan.entries),
        "shape": run.config.shape,
        "scoring": run.config.scoring,
        "projection": projection(run.plan, run.config.budgets),
        "projection_method": METHOD,
        "projection_heldout": getattr(run, "heldout_points", []),
    }


def term_columns(run: Run) -> dict[str, list[Any]]:
    """terms.tsv: the plan's entries that are whole text, in plan order (`saved_rank`: what extend uses), then the
    candidate terms by termhood (`termhood_rank`: what a person reviews), up to `top` of them."""
    c = run.cands
    cand_row = {t: i for i, t in enumerate(c.terms)}
    termhood_rank = np.empty(len(c), dtype=np.int64)
    termhood_rank[run.termhood_order] = np.arange(1, len(c) + 1)
    rows: list[tuple[str, int | None, int | None]] = []  # (term, saved rank, saved tokens)
    seen: set[str] = set()
    for entry in run.plan.entries:
        text = entry.text.strip()  # a word's leading space is the tokenizer's spelling, not the term's
        if text in seen or not text or "\ufffd" in text or any(ch.isspace() for ch in text):
            continue
        seen.add(text)
        rows.append((text, len(rows) + 1, entry.saved_a + entry.saved_b))
    limit = run.config.top or len(c)
    rows += [(c.terms[i], None, None) for i in run.termhood_order[:limit].tolist() if c.terms[i] not in seen]
    at = [cand_row.get(term) for term, _, _ in rows]  # the row's candidate, None for a plan entry that is none

    def take(values: list[Any]) -> list[Any]:
        return [None if i is None else values[i] for i in at]

    columns: dict[str, list[Any]] = {
        "term": [r[0] for r in rows], "saved_rank": [r[1] for r in rows], "saved_tokens": [r[2] for r in rows],
        "termhood_rank": take(termhood_rank.tolist()), "freq": take(c.freq.tolist()),
        "doc_freq": take(c.doc_freq.tolist()), "base_tokens": take(c.base_tokens.tolist()),
        "domain_score": take(np.asarray(run.domain, dtype=np.float64).tolist()),
        "cohesion": take(c.cohesion.tolist()), "left_entropy": take(c.left_entropy.tolist()),
        "right_entropy": take(c.right_entropy.tolist()), "source": take(list(c.source)),
        "is_term": take(np.asarray(run.is_term).astype(int).tolist())}
    return {name: columns[name] for name in COLUMNS}


def render_terms(run: Run) -> tuple[dict[str, list[Any]], str]:
    """The terms.tsv columns and text."""
    columns = term_columns(run)
    return columns, render_columns(columns)


def _top_by_termhood(columns: dict[str, list[Any]], limit: int) -> list[dict[str, Any]]:
    """The best `limit` rows by termhood, as dicts (the result's preview, for people)."""
    ranked = sorted((r, i) for i, r in enumerate(columns["termhood_rank"]) if r is not None)[:limit]
    names = list(columns)
    return [{n: columns[n][i] for n in names} for _, i in ranked]


def write_outputs(run: Run, columns: dict[str, list[Any]], terms_text: str) -> AnalyzeResult:
    """Write plan.tsv, terms.tsv, report.json and manifest.json into a temporary directory renamed to OUT."""
    config = run.config
    counts = {
        "documents": run.scan.documents, "chars": run.scan.chars, "tokens": run.scan.tokens,
        "candidates": len(run.cands), "terms_written": len(columns["term"]), "plan_entries": len(run.plan.entries),
        "saved_rows": sum(r is not None for r in columns["saved_rank"]),
        "skipped": dict(sorted(run.skipped.items())), "corpus_skipped": dict(run.corpus.stats.skipped),
        "candidates_crossing_pretokens": run.noted["crosses_boundary"],
        "ngram_shards": run.scan.ngrams.shards, "terms_shaped": int(run.is_term.sum()),
    }
    extra = {
        "corpus": {"specs": list(config.corpus), "text_field": config.text_field, "sources": run.corpus.describe()},
        "reference": ({"specs": list(config.reference), "sources": run.reference.describe()} if run.reference
                      else {"jieba_dict": run.lang == "zh"}),
        "tokenizer": {**vars(run.adapter.info), "spec": config.tokenizer, "fingerprint": run.plan.fingerprint},
        "segmenter": segmenter_name(run.lang),
        "timings_s": run.timings,
    }
    outputs = [PLAN_FILE, "terms.tsv", "report.json"]
    with atomic_output_dir(config.out, force=config.force, inputs=[*config.corpus, *config.reference]) as tmp:
        (tmp / PLAN_FILE).write_text(render_plan(run.plan), encoding="utf-8", newline="")
        (tmp / "terms.tsv").write_text(terms_text, encoding="utf-8", newline="")
        write_json(tmp / "report.json", run.report)
        manifest = build_manifest("analyze", config, counts=counts, outputs=outputs, extra=extra)
        write_json(tmp / "manifest.json", manifest)
    return AnalyzeResult(Path(config.out).expanduser().resolve(), run.report, _top_by_termhood(columns, 20), counts,
                         run.timings, run.cpu_timings)
