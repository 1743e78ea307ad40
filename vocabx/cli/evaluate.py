"""`vocabx eval MODEL`: flags generated from `EvalConfig` (help from each field), one call to `vocabx.eval.api.evaluate`,
a summary table (or JSON)."""

from __future__ import annotations

import math
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
from vocabx.eval.config import EvalConfig


@click.command("eval")
@config_options(EvalConfig, arguments=("model",))
@json_option
@config_option
@handle_errors
def evaluate(model: str, as_json: bool, config_file: str | None, **flags: Any) -> None:
    """Measure MODEL on held-out text: bits per character (comparable across tokenizers), chars/token, context
    gain and decoding speed versus --base, how often it emits its new tokens, and which new rows look under-trained.

    \b
    vocabx eval runs/cpt --domain med=heldout.csv --domain-text-field title,ask,answer \\
        --general news=general.txt --base smollm2-135m --out runs/eval
    vocabx eval runs/model --domain heldout.txt --base smollm2 --decode-tokens 0 --json
    vocabx bench base=smollm2 model=runs/model --corpus med=heldout.csv --eval runs/eval/eval.json
    vocabx eval runs/sft --base smollm2-135m --general-instructions alpaca_heldout.json \\
        --domain-instructions medical_heldout.jsonl --out runs/eval-sft   # what SFT cost: instructions.md
    """
    from vocabx.eval.api import evaluate as run_eval

    given = {k: (v if v != () else None) for k, v in flags.items()}
    result = run_eval(make_config(EvalConfig, config_file, model=model, **given), progress=progress_enabled())
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(render(result.to_dict()))
    if result.out:
        click.echo(f"\nwrote {result.out} ({', '.join(result.outputs)}) in {result.seconds:.1f} s", err=True)


def _fmt(value: Any, spec: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec) if isinstance(value, (int, float)) else str(value)


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def render(data: dict[str, Any]) -> str:
    """A plain-text summary: one line per (model, corpus), then decoding, then new-token usage."""
    settings = data.get("settings", {})
    lines = [f"scored {c['label']} ({c['role']}): {c['docs']} documents, {c['chars']:,} characters"
             + (f" (bounded by --max-docs {settings.get('max_docs')} / --max-chars {settings.get('max_chars')})"
                if settings.get("max_chars") else "")
             for c in data.get("corpora", []) if "chars" in c]
    lines.append(f"{'model':<10} {'corpus':<14} {'role':<8} {'bits/char':>9} {'chars/tok':>9} {'ctx gain':>8}")
    for r in data["rows"]:
        lines.append(f"{r['tokenizer']:<10} {r['corpus']:<14} {r['role']:<8} {_fmt(r['bits_per_char'], '.4f'):>9} "
                     f"{_fmt(r['eval_chars_per_token']):>9} {_fmt(r.get('eval_context_gain')):>8}")
    for label, d in data["decode"].items():
        lines.append(f"decode {label}: {_fmt(d['chars_per_s'], '.1f')} chars/s, {_fmt(d['tokens_per_s'], '.1f')} "
                     f"tokens/s ({d['new_tokens']} tokens from {d['prompts']} prompts)")
    for r in data.get("instructions", []):
        change = f" ({r['vs_base']:+.1%} vs base)" if "vs_base" in r else ""
        lines.append(f"{r['model']:<10} {r['set']:<14} {r['role'] + ' instr':<8} answers {r['bits_per_char']:.4f} "
                     f"bits/char{change}")
    for item in data.get("answers", []):
        lines.append(f"prompt: {_short(item['prompt'])}")
        lines += [f"  {label}: {_short(answer)}" for label, answer in item["answers"].items()]
    usage = data.get("usage")
    if usage:
        lines.append(f"new tokens (ids >= {usage['new_start']}): {usage['new_tokens']}; share of generated tokens "
                     f"{_fmt(usage['new_token_share'], '.1%')} (canonical tokenization of the same text "
                     f"{_fmt(usage.get('canonical_new_token_share'), '.1%')}, of held-out domain text "
                     f"{_fmt(usage.get('reference_new_token_share'), '.1%')}); {usage['distinct_in_domain']} occur in "
                     "the domain text; "
                     f"{usage['flagged']} flagged under-trained {usage['flag_counts'] or ''}")
        worst = ", ".join(f"{u['text']!r} ({'+'.join(u['flags'])})" for u in usage["under_trained"][:5])
        if worst:
            lines.append(f"worst: {worst}")
    return "\n".join(lines)
