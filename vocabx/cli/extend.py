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
    for line in _model_lines(result.model or {}):
        click.echo(line)


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


def _model_lines(model: dict[str, Any]) -> list[str]:
    """The model half of an extension in three lines (every figure is in OUT/manifest.json): rows before and after,
    how the new rows were initialized, and the checks on the written model."""
    if not model:
        return []
    new = model.get("new_rows")
    new = new.get("count") if isinstance(new, dict) else new
    padding = model.get("padding_rows_added", 0) + model.get("padding_rows_reused", 0)
    head = "input and output tied" if model.get("tied") else "output untied" if model.get("untied") else "own output"
    lines = [f"  model: embedding rows {model['base_rows']:,} -> {model['rows']:,} ({new:,} new"
             + (f", {padding:,} padding" if padding else "") + f"), {model.get('dtype')}, {head}"]
    output = model.get("init_output_counts")
    output_text = output if isinstance(output, str) else f"{model.get('init_output')} ({_counted(output)})"
    lines.append(f"  new rows: input {model.get('init_input')} ({_counted(model.get('init_input_counts'))}); "
                 f"output {output_text}")
    logits = str(model.get("logits_check", "not run"))
    if "logits_max_abs_diff" in model:
        logits += f" (max diff {model['logits_max_abs_diff']:.2g} on {model['logits_probe_tokens']} tokens)"
    lines.append(f"  model checks: old rows identical ({model.get('old_rows_checked', 0):,}); old-vocabulary logits "
                 f"{logits}; tokenizer {model.get('tokenizer_check', 'not checked')}")
    return lines


def _counted(counts: Any) -> str:
    """`{"subword_mean": 1998, "fallback_mean": 2, "x": 0}` -> `subword mean 1,998, fallback mean 2`."""
    if not isinstance(counts, dict):
        return str(counts)
    shown = [f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items() if isinstance(v, int) and v]
    return ", ".join(shown) or "none"


def _render_checks(checks: dict[str, Any]) -> None:
    for name, check in checks.items():
        click.echo(f"  [{_MARK[check['passed']]}] {name}: {check['summary']}")
