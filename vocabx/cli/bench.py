"""`vocabx bench`: compare tokenizers on corpora (chars/token, NSL, tokens/word, context gain, speed, round trip)."""

from __future__ import annotations

import click

from vocabx.cli.common import config_option, emit_json, handle_errors, json_option, make_config, progress_enabled


@click.command("bench")
@click.argument("tokenizers", nargs=-1, metavar="[NAME=]TOKENIZER...")
@click.option("--corpus", "corpora", multiple=True, metavar="[NAME=]CORPUS",
              help="A corpus to measure on (file, directory, glob, hf:org/name, card name); repeat for several.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Write bench.json, bench.md, charts and manifest.json here (refused if it exists, unless --force).")
@click.option("--reference", default=None, help="Label or spec of the tokenizer ratios are taken against [first one].")
@click.option("--context", type=int, default=2048, show_default=True, help="Context window in tokens for chars/window.")
@click.option("--text-field", multiple=True,
              help="JSON key or CSV column holding the text (a,b joins several); once for all corpora or once per --corpus.")
@click.option("--max-chars", type=int, default=None, help="Read at most this many characters of each corpus.")
@click.option("--max-docs", type=int, default=None, help="Read at most this many documents of each corpus.")
@click.option("--repeats", type=int, default=3, show_default=True, help="Timed encode runs per pair (best counts); 0 skips timing.")
@click.option("--charts/--no-charts", default=True, show_default=True, help="Write PNG charts into --out.")
@click.option("--eval", "eval", type=click.Path(dir_okay=False), default=None,
              help="eval.json from `vocabx eval`: its per-pair figures become extra columns.")
@click.option("--force", is_flag=True, help="Replace an existing --out.")
@json_option
@config_option
@handle_errors
def bench(
    tokenizers: tuple[str, ...], corpora: tuple[str, ...], out: str | None, reference: str | None, context: int,
    text_field: tuple[str, ...], max_chars: int | None, max_docs: int | None, repeats: int, charts: bool,
    eval: str | None, force: bool, as_json: bool, config_file: str | None,
) -> None:
    """Compare how many tokens each TOKENIZER spends on each corpus.

    A TOKENIZER is anything vocabx loads (a tokenizer.json, tokenizer.model, vocab.txt, .gguf, a model
    directory, a built-in name, a hub id); prefix NAME= to label it. Ratios (NSL, context gain) are against
    the --reference, by default the first tokenizer.

    \b
    vocabx bench smollm2 qwen2 --corpus news-zh --max-chars 1000000
    vocabx bench base=smollm2 ext=runs/model --corpus med=dialogues.csv --text-field title,ask,answer --out runs/bench
    """
    from vocabx.bench import BenchConfig, render_table
    from vocabx.bench import bench as run_bench

    config = make_config(
        BenchConfig, config_file, tokenizers=tokenizers, corpora=corpora, out=out, reference=reference,
        context=context, text_field=text_field, max_chars=max_chars, max_docs=max_docs, repeats=repeats,
        charts=charts, eval=eval, force=force,
    )
    result = run_bench(config, progress=progress_enabled())
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(render_table(result))
    if result.out:
        click.echo(f"\nwrote {result.out} (bench.json, bench.md{', charts' if config.charts else ''}, manifest.json)", err=True)
