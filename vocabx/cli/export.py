"""`vocabx export gguf|patch`: deployable outputs of an extended model. Flags generated from the config
dataclasses (help from each field), one library call, a summary (or JSON)."""

from __future__ import annotations

from typing import Any

import click

from vocabx.cli.common import config_option, config_options, emit_json, handle_errors, json_option, make_config
from vocabx.export.config import GGUFExportConfig, PatchExportConfig


@click.group("export")
def export() -> None:
    """Deployable outputs: a GGUF for llama.cpp / Ollama / LM Studio, or a small patch against the base.

    \b
    vocabx export gguf runs/model --out model.gguf --outtype f16
    vocabx export gguf runs/model --out model-q.gguf --outtype base   # GGUF base's tensors as stored
    vocabx export gguf runs/tok --out vocab.gguf --vocab-only
    vocabx export patch runs/model --out runs/model.patch
    """


@export.command("gguf")
@config_options(GGUFExportConfig, arguments=("model",))
@json_option
@config_option
@handle_errors
def gguf(model: str, as_json: bool, config_file: str | None, **flags: Any) -> None:
    """Write MODEL (weights and tokenizer, or the tokenizer alone) as a GGUF file that llama.cpp loads."""
    from vocabx.export.to_gguf import export_gguf

    result = export_gguf(make_config(GGUFExportConfig, config_file, model=model, **flags))
    if as_json:
        emit_json(result)
        return
    click.echo(f"wrote {result.out} ({result.bytes / 1e6:,.1f} MB, {result.route}, {result.outtype}) in {result.seconds:.1f} s")
    click.echo(f"  {result.tokens:,} tokens ({result.new_tokens:,} new); pre-tokenizer {result.pre} ({result.pre_source})")


@export.command("patch")
@config_options(PatchExportConfig, arguments=("model",))
@json_option
@config_option
@handle_errors
def patch(model: str, as_json: bool, config_file: str | None, **flags: Any) -> None:
    """Write the tokenizer difference and MODEL's new rows as a patch against its base (`vocabx apply` rebuilds)."""
    from vocabx.export.patch import export_patch

    result = export_patch(make_config(PatchExportConfig, config_file, model=model, **flags))
    if as_json:
        emit_json(result)
        return
    click.echo(f"wrote {result['out']}: {result['patch_bytes'] / 1e6:,.1f} MB for a {result['model_bytes'] / 1e6:,.1f} MB "
               f"model ({result['ratio']:.2%}), against {result['base']}; verified to rebuild it bit for bit")
