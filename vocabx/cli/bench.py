"""`vocabx bench`: compare tokenizers on corpora (chars/token, NSL, tokens/word, context gain, speed, round trip)."""

from __future__ import annotations

from typing import Any

import click

from vocabx.bench.api import BenchConfig
from vocabx.cli.common import (
    config_option,
    config_options,
    emit_json,
    handle_errors,
    json_option,
    make_config,
    progress_enabled,
)


@click.command("bench")
@config_options(BenchConfig, arguments=("tokenizers",))
@json_option
@config_option
@handle_errors
def bench(as_json: bool, config_file: str | None, **flags: Any) -> None:
    """Compare how many tokens each TOKENIZER spends on each corpus.

    A TOKENIZER is anything vocabx loads (a tokenizer.json, tokenizer.model, vocab.txt, .gguf, a model
    directory, a built-in name, a hub id); prefix NAME= to label it. Ratios (NSL, context gain) are against
    the --reference, by default the first tokenizer.

    \b
    vocabx bench smollm2 qwen2 --corpus news-zh --max-chars 1000000
    vocabx bench base=smollm2 ext=runs/model --corpus med=dialogues.csv --text-field title,ask,answer --out runs/bench
    """
    from vocabx.bench import bench as run_bench
    from vocabx.bench import render_table

    config = make_config(BenchConfig, config_file, **flags)
    result = run_bench(config, progress=progress_enabled())
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(render_table(result))
    if result.out:
        click.echo(f"\nwrote {result.out} (bench.json, bench.md{', charts' if config.charts else ''}, manifest.json)", err=True)
