"""`vocabx extend` (grow a tokenizer, and a model's embeddings, with domain terms) and `vocabx verify` (check the
guarantees on any base/extended pair)."""

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
from vocabx.extend.api import ExtendConfig, VerifyConfig

_MARK = {True: "ok  ", False: "FAIL", None: "n/a "}


@click.command("extend")
@config_options(ExtendConfig, arguments=("base",))
@json_option
@config_option
@handle_errors
def extend(as_json: bool, config_file: str | None, **flags: Any) -> None:
    """Grow BASE's vocabulary with real entries (merges, pieces) for domain terms, and write OUT.

    BASE is a tokenizer (anything `analyze --tokenizer` accepts) or a model (smollm2-135m, a model directory);
    with a model, its embeddings are resized and the new rows initialized too. The guarantees (old ids kept,
    lossless, reachable, never longer, fast/slow agree, deterministic) are checked before OUT is written.

    \b
    vocabx extend smollm2 --terms runs/analysis --budget 5000 --out runs/tok
    vocabx extend smollm2 --mode train --corpus dialogues.csv --text-field title,ask,answer --budget 20000 --out runs/tok
    vocabx extend smollm2-135m --terms terms.txt --budget 2000 --out runs/model --init subword-mean
    """
    from vocabx.extend.api import extend as run_extend

    config = make_config(ExtendConfig, config_file, **flags)
    result = run_extend(config, progress=progress_enabled())
    if as_json:
        emit_json(result)
        return
    counts = result.counts
    click.echo(f"wrote {result.out} ({result.family}, {result.seconds:.1f} s)")
    click.echo(
        f"  added {counts['added']} entries ({counts['added_terms']} terms, {counts['added_intermediates']} intermediates);"
        f" vocabulary {counts['base_vocab_size']} -> {counts['extended_vocab_size']}"
    )
    skips = {k.removeprefix("skipped_"): v for k, v in counts.items() if k.startswith("skipped_") and v}
    if skips:
        click.echo("  skipped: " + ", ".join(f"{k} {v}" for k, v in skips.items()))
    for note in result.notes:
        click.echo(f"  note: {note}")
    _render_checks(result.checks)
    if result.model:
        click.echo("  model: " + ", ".join(f"{k} {v}" for k, v in result.model.items() if not isinstance(v, (dict, list))))


@click.command("verify")
@config_options(VerifyConfig, arguments=("base", "extended"))
@json_option
@config_option
@handle_errors
def verify(as_json: bool, config_file: str | None, **flags: Any) -> None:
    """Check that EXTENDED is a correct extension of BASE; exit 1 if a guarantee fails.

    \b
    vocabx verify smollm2 runs/tok --corpus dialogues.csv --text-field title,ask,answer
    vocabx verify smollm2 runs/tok --general general-en/ --general tnews.json#sentence
    vocabx verify smollm2-135m runs/model --corpus heldout.txt --runtime llama.cpp
    """
    from vocabx.extend.api import verify_pair

    config = make_config(VerifyConfig, config_file, **flags)
    report = verify_pair(config)
    if as_json:
        emit_json({"ok": report.ok, "checks": report.as_dict()})
    else:
        _render_checks(report.as_dict())
        click.echo("all guarantees hold" if report.ok else "some guarantees FAIL")
    if not report.ok:
        raise SystemExit(1)


def _render_checks(checks: dict[str, Any]) -> None:
    for name, check in checks.items():
        click.echo(f"  [{_MARK[check['passed']]}] {name}: {check['summary']}")
