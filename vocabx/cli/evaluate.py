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
    importing_torch,
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
    vocabx eval runs/cpt --domain med=heldout.csv --text-field title,ask,answer \\
        --general news=general.txt --base smollm2-135m --out runs/eval
    vocabx eval runs/model --domain heldout.txt --base smollm2 --decode-tokens 0 --json
    vocabx bench base=smollm2 model=runs/model --corpus med=heldout.csv --eval runs/eval/eval.json
    vocabx eval runs/sft --base smollm2-135m --general-instructions alpaca_heldout.json \\
        --domain-instructions medical_heldout.jsonl --out runs/eval-sft   # what SFT cost: instructions.md
    """
    with importing_torch():
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


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def render(data: dict[str, Any]) -> str:
    """A plain-text summary: what was scored, one line per (model, corpus), decoding, instruction answers, new-token
    usage; every figure in full is in eval.json (--json)."""
    lines = _scored(data) + (["", *_score_table(data["rows"])] if data["rows"] else [])
    if data["decode"]:
        lines += ["", *_decoding(data)]
    for r in data.get("instructions", []):
        change = f" ({r['vs_base']:+.1%} vs base)" if "vs_base" in r else ""
        lines.append(f"{r['model']} on {r['set']} ({r['role']} instructions): answers {r['bits_per_char']:.4f} "
                     f"bits/char{change}")
    for item in data.get("answers", []):
        lines.append(f"prompt: {_short(item['prompt'])}")
        lines += [f"  {label}: {_short(answer)}" for label, answer in item["answers"].items()]
    if data.get("usage"):
        lines += ["", *_usage(data["usage"])]
    return "\n".join(lines)


def _scored(data: dict[str, Any]) -> list[str]:
    """How much text each corpus gave, and whether --max-docs / --max-chars cut it short."""
    settings = data.get("settings", {})
    lines = []
    for c in data.get("corpora", []):
        if "chars" not in c:
            continue
        bound = c.get("stopped_at")
        cut = f"stopped at --{bound.replace('_', '-')} {settings.get(bound)}" if bound else "the whole corpus"
        lines.append(f"scored {c['label']} ({c['role']}): {_count(c['docs'], 'document')}, {c['chars']:,} characters "
                     f"({cut})")
    return lines


def _aligned(header: list[str], rows: list[list[str]]) -> list[str]:
    """Columns as wide as their widest cell; the first three left-aligned (names), the rest right-aligned (figures)."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
            for row in [header, *rows]]


def _score_table(rows: list[dict[str, Any]]) -> list[str]:
    header = ["model", "corpus", "role", "bits/char", "chars/token", "context gain"]
    return _aligned(header, [[r["tokenizer"], r["corpus"], r["role"], _fmt(r["bits_per_char"], ".4f"),
                              _fmt(r["eval_chars_per_token"]), _fmt(r.get("eval_context_gain"))] for r in rows])


def _decoding(data: dict[str, Any]) -> list[str]:
    threads = data.get("settings", {}).get("threads")
    first = next(iter(data["decode"].values()))
    lines = [f"decoding speed (greedy, {first['new_tokens']} new tokens from {_count(first['prompts'], 'prompt')}"
             + (f", {_count(threads, 'thread')}" if threads else "") + "):"]
    width = max(len(label) for label in data["decode"])
    lines += [f"  {label:<{width}}  {_fmt(d['chars_per_s'], '.1f')} chars/s  {_fmt(d['tokens_per_s'], '.1f')} tokens/s"
              for label, d in data["decode"].items()]
    return lines


def _usage(usage: dict[str, Any]) -> list[str]:
    """New-token emission against what the model could have emitted, and the rows that look under-trained."""
    flags = ", ".join(f"{name} {n}" for name, n in (usage["flag_counts"] or {}).items())
    lines = [
        f"new tokens (ids >= {usage['new_start']}): {usage['new_tokens']}",
        f"  share of the generated tokens: {_fmt(usage['new_token_share'], '.1%')} (the same text tokenized "
        f"canonically: {_fmt(usage.get('canonical_new_token_share'), '.1%')}; held-out domain text: "
        f"{_fmt(usage.get('reference_new_token_share'), '.1%')})",
        f"  occurring in the domain text: {usage['distinct_in_domain']}",
        f"  flagged under-trained: {usage['flagged']}" + (f" ({flags})" if flags else ""),
    ]
    worst = ", ".join(f"{u['text']!r} ({'+'.join(u['flags'])})" for u in usage["under_trained"][:5])
    return lines + ([f"  worst: {worst}"] if worst else [])
