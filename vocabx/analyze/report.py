"""Assembling what an analysis writes: the fragmentation report (`report.json`), the ranked rows of
`terms.tsv`, the manifest, and the `AnalyzeResult` the CLI renders."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from vocabx.analyze.api import AnalyzeResult
from vocabx.analyze.fragmentation import project
from vocabx.analyze.segment import segmenter_name
from vocabx.analyze.terms import render_columns
from vocabx.outputs import atomic_output_dir, build_manifest, write_json

if TYPE_CHECKING:
    from vocabx.analyze.run import Run

log = logging.getLogger(__name__)

REPORT_FORMAT = "vocabx-analyze-report v1"
METHOD = ("the selection's cover of each distinct Han run by the top K terms (one token each), gaps tokenized in "
          "context by the base model or, if fewer, one token per character made whole as an intermediate of a chosen "
          "term; each run at most its base cost; other-script terms save freq * (base_tokens - 1)")


def build_report(run: Run) -> dict[str, Any]:
    """The fragmentation report, projection included (see `fragmentation`)."""
    scan = run.scan
    tokens = max(scan.tokens, 1)
    projector, (fertility, split_share, words) = run.projection.result()
    han_chars_total = scan.ngrams.positions
    scale = han_chars_total / scan.run_han_chars if scan.run_han_chars else 1.0
    other_savings = (run.cands.freq[run.order] * (run.cands.base_tokens[run.order] - 1)).astype(float)
    terms = [run.cands.terms[i] for i in run.order]
    points = project(projector, run.selection, other_savings, run.is_han, scan.tokens, scan.chars, scale,
                     run.config.budgets, terms)
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
        "projection": [vars(p) for p in points],
        "projection_method": METHOD,
        "projection_sample_share": round(1.0 / scale, 4) if scale else 1.0,
    }


def term_columns(run: Run) -> dict[str, list[Any]]:
    """terms.tsv columns in selection order, cut to `top` (gathered with numpy)."""
    c = run.cands
    limit = run.config.top or len(run.order)
    idx = run.order[:limit]
    freq, base = c.freq[idx], c.base_tokens[idx]
    columns = {
        "term": [c.terms[i] for i in idx.tolist()], "rank": range(1, len(idx) + 1), "freq": freq.tolist(),
        "doc_freq": c.doc_freq[idx].tolist(), "base_tokens": base.tolist(),
        "saved_tokens": (freq * (base - 1)).tolist(), "gain": run.gain[:limit].astype(float).tolist(),
        "cohesion": c.cohesion[idx].astype(float).tolist(), "left_entropy": c.left_entropy[idx].astype(float).tolist(),
        "right_entropy": c.right_entropy[idx].astype(float).tolist(),
        "domain_score": run.domain[idx].astype(float).tolist(), "source": [c.source[i] for i in idx.tolist()],
        "is_term": run.is_term[idx].astype(int).tolist(),
    }
    return columns


def _rows(columns: dict[str, list[Any]], limit: int) -> list[dict[str, Any]]:
    """The first `limit` rows as dicts (the result's preview)."""
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*(v[:limit] for v in columns.values()))]


def render_terms(run: Run) -> tuple[dict[str, list[Any]], str]:
    """The terms.tsv columns and text (needs the selection, not the report: `Run` renders it while the report is
    computed in a thread)."""
    columns = term_columns(run)
    return columns, render_columns(columns)


def write_outputs(run: Run, columns: dict[str, list[Any]], terms_text: str) -> AnalyzeResult:
    """Write terms.tsv (`render_terms`), report.json and manifest.json into a temporary directory renamed to OUT."""
    config = run.config
    written = len(columns["term"])
    counts = {
        "documents": run.scan.documents, "chars": run.scan.chars, "tokens": run.scan.tokens,
        "candidates": len(run.cands), "terms_written": written, "skipped": dict(sorted(run.skipped.items())),
        "corpus_skipped": dict(run.corpus.stats.skipped), "ngram_shards": run.scan.ngrams.shards,
        **run.counts_extra,
    }
    extra = {
        "corpus": {"specs": list(config.corpus), "text_field": config.text_field, "sources": run.corpus.describe()},
        "reference": ({"specs": list(config.reference), "sources": run.reference.describe()} if run.reference
                      else {"jieba_dict": run.lang == "zh"}),
        "tokenizer": {**vars(run.adapter.info), "spec": config.tokenizer},
        "segmenter": segmenter_name(run.lang),
        "timings_s": run.timings,
    }
    with atomic_output_dir(config.out, force=config.force, inputs=[*config.corpus, *config.reference]) as tmp:
        (tmp / "terms.tsv").write_text(terms_text, encoding="utf-8", newline="")
        write_json(tmp / "report.json", run.report)
        manifest = build_manifest("analyze", config, counts=counts, outputs=["terms.tsv", "report.json"], extra=extra)
        write_json(tmp / "manifest.json", manifest)
    out = config.out
    from pathlib import Path

    return AnalyzeResult(Path(out).expanduser().resolve(), run.report, _rows(columns, 20), counts, run.timings, run.cpu_timings)


