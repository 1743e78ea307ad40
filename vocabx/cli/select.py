"""`vocabx select POOL... --domain SAMPLE --out DIR`: flags generated from `SelectConfig` (help from each field), one
call to `vocabx.select.select_documents`, a summary of every stage's count (or JSON)."""

from __future__ import annotations

from typing import Any

import click

from vocabx.cli.common import (
    config_option,
    config_options,
    emit_json,
    handle_errors,
    json_option,
    make_config,
    progress_enabled,
)
from vocabx.select.config import SelectConfig
from vocabx.select.report import STAGES


@click.command("select")
@config_options(SelectConfig, arguments=("pool",))
@json_option
@config_option
@handle_errors
def select(as_json: bool, config_file: str | None, **flags: Any) -> None:
    """Select the documents of POOL worth continued pretraining on: relevant to the --domain sample, clean
    (length, writing system, mojibake, symbols, repetition, boilerplate), without exact or near duplicates,
    balanced; written as JSON lines that `vocabx train cpt --data` reads.

    \b
    vocabx select crawl/ news.jsonl --domain medical_sample.jsonl --out runs/select
    vocabx select crawl/ --domain sample.csv#title,ask,answer \\
        --budget-chars 5000000 --source-cap 0.5 --replay-share 0.2 --out runs/select
    vocabx train cpt runs/model --data runs/select/domain.jsonl --replay runs/select/replay.jsonl --out runs/cpt
    """
    from vocabx.select import select_documents

    given = {k: (v if v != () else None) for k, v in flags.items()}
    result = select_documents(make_config(SelectConfig, config_file, **given), progress=progress_enabled())
    if as_json:
        emit_json(result)
        return
    docs = result["outcomes"]["docs"]
    read = result["outcomes"]["read"]
    click.echo(f"read {read['docs']:,} documents ({read['chars']:,} chars) from {len(result['pool'])} pool input(s)")
    for stage in STAGES:
        if docs.get(stage):
            click.echo(f"  {stage:<18} {docs[stage]:>9,}")
    balance = {k: v for k, v in result["balance"].items() if v}
    click.echo(f"selected {result['selected_docs']:,} documents, {result['selected_chars']:,} chars "
               f"(threshold {result['scorer']['threshold']:.3f}, {result['scorer']['scorer']})"
               + (f"; {balance}" if balance else ""))
    click.echo(f"wrote {result['out']} ({', '.join(result['outputs'])}) in {result['seconds']:.1f} s "
               f"({result['mb_per_s']:.1f} MB/s)", err=True)
