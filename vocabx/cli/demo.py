"""`vocabx demo`: flags generated from `DemoConfig`, one call to `vocabx.demo.run_demo`, each stage's timing as it
finishes, then the headline figures and where the report is."""

from __future__ import annotations

import sys
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
from vocabx.demo.config import DemoConfig


@click.command("demo")
@config_options(DemoConfig)
@click.option("--reference", "reference", multiple=True, help="Same as --general (the analysis reference).")
@json_option
@config_option
@handle_errors
def demo(as_json: bool, config_file: str | None, reference: tuple[str, ...], **flags: Any) -> None:
    """Run the whole pipeline and write a report: hold out every 10th document, mine domain terms against the
    general corpus, extend the model's tokenizer and embeddings, a short continued pretraining with general
    replay, evaluate against the base, benchmark base, extended and reference tokenizers.

    Offline defaults: PRC criminal law (legal-zh) against People's Daily (news-zh) on SmolLM2-135M, about
    10 minutes on a 2-core CPU (--quick: no training, about 2 minutes). Open OUT/report.html.

    \b
    vocabx demo
    vocabx demo --quick --out runs/demo-quick
    vocabx demo --corpus my_corpus/ --general general.txt --model my_model/ --budget 5000 --train-steps 50
    """
    from vocabx.demo import run_demo
    from vocabx.demo.figures import caveats
    from vocabx.demo.report import headline_rows

    given = {k: (v if v != () else None) for k, v in flags.items()}
    config = make_config(DemoConfig, config_file, **given)
    if reference:  # an alias of --general that make_config does not know
        config.general = (*(flags.get("general") or ()), *reference)
    echo = (lambda text: click.echo(text, err=True)) if as_json else click.echo
    echo(f"vocabx demo -> {config.out}")
    try:
        result = run_demo(config, progress=progress_enabled(),
                          on_stage=lambda r: echo(f"  {r.name:<16} {r.wall_s:7.1f} s wall {r.cpu_s:7.1f} s CPU"
                                                  + (f"  -> {r.out}/" if r.out else "")))
    except KeyboardInterrupt:  # the stages done so far stay in OUT with failed.json, unlike other commands
        click.echo(f"Interrupted; what ran is recorded in {config.out}/failed.json.", err=True)
        sys.exit(130)
    if as_json:
        emit_json({"out": result.out, "seconds": result.seconds, "stages": result.stages, "figures": result.figures,
                   "report": {"md": result.report_md, "html": result.report_html}})
        return
    echo(f"  {'total':<16} {result.seconds:7.1f} s\n")
    samples: dict[str, None] = {}
    for row in headline_rows(result.figures):
        metric, corpus, base, *middle, extended, change, sample = row
        untrained = f" (untrained {middle[0]})" if middle and middle[0] != "-" else ""
        echo(f"  {metric:<30} {corpus:<12} {base:>9} -> {extended:>9}  {change}{untrained}")
        if sample:  # `16 docs, 1,737 chars` per corpus, `2 prompts x 32 tokens` for decoding
            samples[f"decoding {sample}" if "prompts" in sample else f"{corpus} {sample}"] = None
    echo(f"  (eval's held-out sample: {'; '.join(samples)})")
    for caveat in caveats(result.figures):
        echo(f"\n  note: {caveat}")
    echo(f"\nreport: {result.report_html}  (Markdown: {result.report_md})")
