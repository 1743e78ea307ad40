"""`vocabx train cpt|sft|merge`: flags generated from the config dataclasses (help from each field), one library
call, a summary (or JSON). Runs the same under `torchrun` / `accelerate launch` for many GPUs."""

from __future__ import annotations

from pathlib import Path
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
from vocabx.train.config import CPTConfig, DistillConfig, MergeConfig, SFTConfig


def _given(values: dict[str, Any]) -> dict[str, Any]:
    """Flags with a value: empty repeatable options count as not given."""
    return {k: (v if v != () else None) for k, v in values.items()}


@click.group("train")
def train() -> None:
    """Continued pretraining with replay, instruction tuning and LoRA merge on an extended vocabulary.

    \b
    vocabx train cpt runs/model --data dialogues.csv --text-field title,ask,answer \\
        --replay general.txt --replay-ratio 0.2 --max-chars 2000000 --out runs/cpt
    vocabx train sft runs/cpt --data medical_sft.jsonl --out runs/sft --merge
    torchrun --nproc_per_node 8 "$(which vocabx)" train cpt ...   # the same run on 8 GPUs
    """


@train.command("cpt")
@config_options(CPTConfig, arguments=("model",))
@json_option
@config_option
@handle_errors
def cpt(model: str, as_json: bool, config_file: str | None, **flags: Any) -> None:
    """Continued pretraining of MODEL on packed --data blocks, replaying general data against forgetting."""
    with importing_torch():
        from vocabx.train.api import train_cpt

    result = train_cpt(make_config(CPTConfig, config_file, model=model, **_given(flags)), progress=progress_enabled())
    _render(result, as_json, f"{result['domain_chars']:,} domain chars + replay share {result['replay_share']:.1%}")


@train.command("sft")
@config_options(SFTConfig, arguments=("model",))
@json_option
@config_option
@handle_errors
def sft(model: str, as_json: bool, config_file: str | None, **flags: Any) -> None:
    """Instruction tuning of MODEL on Alpaca/ShareGPT --data (loss on assistant turns only)."""
    with importing_torch():
        from vocabx.train.api import train_sft

    result = train_sft(make_config(SFTConfig, config_file, model=model, **_given(flags)), progress=progress_enabled())
    lossy = ("data_skipped", "data_truncated", "data_over_budget")
    skipped = {k: v for k, v in result.items() if k.startswith(lossy)}
    _render(result, as_json, f"{result['examples']:,} conversations, replay share {result['replay_share']:.1%}"
                             + (f"; {skipped}" if skipped else ""))


@train.command("distill")
@config_options(DistillConfig, arguments=("model",))
@json_option
@config_option
@handle_errors
def distill(model: str, as_json: bool, config_file: str | None, **flags: Any) -> None:
    """Teach MODEL (an extended model) the base model's behaviour on --data, through its new tokens.

    \b
    The teacher (the base recorded by `vocabx extend`, or --teacher) reads the base tokenization, MODEL the
    extended one; MODEL learns to give each token the probability the teacher gives the text it covers.
    vocabx train distill runs/model --data dialogues.csv --text-field title,ask,answer \\
        --replay news-zh --max-chars 200000 --out runs/distill
    """
    with importing_torch():
        from vocabx.train.api import train_distill

    result = train_distill(make_config(DistillConfig, config_file, model=model, **_given(flags)),
                           progress=progress_enabled())
    if as_json:
        emit_json(result)
        return
    click.echo(f"{result['steps']:,} steps over {result['domain_windows']:,} domain windows "
               f"({result['domain_chars']:,} chars, new-token share {result['new_token_share']:.1%}); "
               f"replay share {result['replay_share']:.1%}")
    click.echo(f"wrote {result['out']} (model, log.jsonl, manifest.json) in {result.get('seconds', 0):.1f} s")


@train.command("merge")
@config_options(MergeConfig, arguments=("adapter",))
@json_option
@config_option
@handle_errors
def merge(adapter: str, as_json: bool, config_file: str | None, **flags: Any) -> None:
    """Merge the LoRA adapter in ADAPTER into its base: a plain model directory that loads without peft."""
    from vocabx.train.api import merge_adapter

    result = merge_adapter(make_config(MergeConfig, config_file, adapter=adapter, **_given(flags)))
    if as_json:
        emit_json(result)
        return
    click.echo(f"merged into {result['out']}: {result['embedding_rows']:,} embedding rows, "
               f"vocabulary {result['vocab_size']:,}")


def _render(result: dict[str, Any], as_json: bool, detail: str) -> None:
    if as_json:
        emit_json(result)
        return
    loss = result.get("final_loss")
    loss_text = f"final loss {loss:.4f}" if loss is not None else "no loss logged"
    click.echo(f"{result['steps']:,} steps, {result['tokens']:,} tokens, {result['chars']:,} chars; {detail}; {loss_text}")
    if result.get("already_finished"):
        click.echo(f"the run in {result['out']} had already finished; nothing to resume")
        return
    files = ", ".join(["model", *(["log.jsonl"] if (Path(result["out"]) / "log.jsonl").is_file() else []),
                       "manifest.json"])
    click.echo(f"wrote {result['out']} ({files}) in {result.get('seconds', 0):.1f} s")
