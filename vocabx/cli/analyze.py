"""`vocabx analyze`: flags generated from `AnalyzeConfig`, one call to `analyze`, a summary (or JSON)."""

from __future__ import annotations

from typing import Any

import click

from vocabx.analyze.api import AnalyzeConfig
from vocabx.cli.common import (
    config_option,
    config_options,
    emit_json,
    handle_errors,
    json_option,
    make_config,
    progress_enabled,
)


@click.command("analyze")
@config_options(AnalyzeConfig, arguments=("corpus",))
@json_option
@config_option
@handle_errors
def analyze(as_json: bool, config_file: str | None, **flags: Any) -> None:
    """Learn the vocabulary plan for CORPUS, rank its terms, and report how the tokenizer fragments it.

    \b
    vocabx analyze legal-zh --reference news-zh --tokenizer smollm2 --out runs/demo/analysis
    vocabx analyze dialogues.csv --text-field title,ask,answer -t llama2/tokenizer.model -o runs/med
    """
    from vocabx.analyze import analyze as run_analyze

    result = run_analyze(make_config(AnalyzeConfig, config_file, **flags), progress=progress_enabled())
    if as_json:
        emit_json({"out": result.out, "report": result.report, "counts": result.counts, "top_terms": result.top_terms})
        return
    report = result.report
    click.echo(f"{report['documents']:,} documents, {report['chars']:,} chars, {report['tokens']:,} tokens with "
               f"{report['tokenizer']['name']}: {report['chars_per_token']:.3f} chars/token, "
               f"{report['tokens_per_word']:.2f} tokens/word, {report['fallback_kind']} {report['fallback_rate']:.1%}")
    for point in report["projection"]:
        click.echo(f"  + {point['entries']:>6,} plan entries: {point['chars_per_token']:.3f} chars/token (projected)")
    for point in report["projection_heldout"]:
        click.echo(f"  + {point['entries']:>6,} plan entries on --heldout text: {point['chars_per_token']:.3f} chars/token")
    skipped = ", ".join(f"{k} {v}" for k, v in result.counts["skipped"].items()) or "none"
    click.echo(f"{result.counts['candidates']:,} candidate terms (skipped: {skipped})")
    click.echo("top terms by termhood: " + " ".join(t["term"] for t in result.top_terms[:15]))
    click.echo(f"wrote {result.out}/plan.tsv, terms.tsv, report.json, manifest.json")
