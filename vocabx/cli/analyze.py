"""`vocabx analyze`: parse flags into an `AnalyzeConfig`, run `analyze`, print a summary (or JSON)."""

from __future__ import annotations

import click

from vocabx.analyze.api import SCORINGS, AnalyzeConfig
from vocabx.cli.common import config_option, emit_json, handle_errors, json_option, make_config, progress_enabled
from vocabx.config import field_help


@click.command("analyze")
@click.argument("corpus", nargs=-1)
@click.option("--tokenizer", "-t", help="Base tokenizer: dir, tokenizer.json, .model, .gguf, built-in name, hub id.")
@click.option("--out", "-o", type=click.Path(file_okay=False), help="Output directory for plan.tsv, terms.tsv, report.json.")
@click.option("--reference", "-r", multiple=True, help="General corpus for domain specificity (repeatable).")
@click.option("--lang", type=click.Choice(["auto", "zh", "other"]), default="auto", show_default=True,
              help="zh: jieba + Han n-grams; other: Unicode words; auto: zh if most letters are Han.")
@click.option("--min-freq", type=int, default=5, show_default=True, help="Minimum corpus frequency of a term.")
@click.option("--max-len", type=int, default=6, show_default=True, help="Longest Han term in characters.")
@click.option("--top", type=int, default=20000, show_default=True, help=field_help(AnalyzeConfig, "top"))
@click.option("--workers", type=int, default=0, help="Worker processes (default: all cores).")
@click.option("--text-field", help="JSON key or CSV column(s) with the text, comma-separated (title,ask,answer).")
@click.option("--skip-bad-records", is_flag=True, help="Skip malformed records instead of stopping.")
@click.option("--shape/--no-shape", default=None, help=field_help(AnalyzeConfig, "shape") + " [default: shape]")
@click.option("--scoring", type=click.Choice(list(SCORINGS)), default=None, help=field_help(AnalyzeConfig, "scoring"))
@click.option("--heldout", multiple=True, help=field_help(AnalyzeConfig, "heldout"))
@click.option("--budgets", help=field_help(AnalyzeConfig, "budgets") + " Comma-separated [default: 1000,...,20000].")
@click.option("--force", is_flag=True, help="Replace an existing --out.")
@json_option
@config_option
@handle_errors
def analyze(corpus: tuple[str, ...], tokenizer: str | None, out: str | None, reference: tuple[str, ...], lang: str,
            min_freq: int, max_len: int, top: int, workers: int, text_field: str | None, skip_bad_records: bool,
            shape: bool | None, scoring: str | None, heldout: tuple[str, ...], budgets: str | None, force: bool,
            as_json: bool,
            config_file: str | None) -> None:
    """Learn the vocabulary plan for CORPUS, rank its terms, and report how the tokenizer fragments it.

    \b
    vocabx analyze legal-zh --reference news-zh --tokenizer smollm2 --out runs/demo/analysis
    vocabx analyze dialogues.csv --text-field title,ask,answer -t llama2/tokenizer.model -o runs/med
    """
    from vocabx.analyze import analyze as run_analyze

    config = make_config(
        AnalyzeConfig, config_file, corpus=corpus or None, tokenizer=tokenizer, out=out, reference=reference or None,
        lang=lang, min_freq=min_freq, max_len=max_len, top=top, workers=workers, text_field=text_field,
        skip_bad_records=skip_bad_records, shape=shape, scoring=scoring, heldout=heldout or None, budgets=_budgets(budgets),
        force=force,
    )
    result = run_analyze(config, progress=progress_enabled())
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


def _budgets(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}", param_hint="--budgets") from None
