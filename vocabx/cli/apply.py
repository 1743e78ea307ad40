"""`vocabx apply PATCH BASE --out OUT`: rebuild an extended model from a patch and its base, bit for bit."""

from __future__ import annotations

from typing import Any

import click

from vocabx.cli.common import config_option, config_options, emit_json, handle_errors, json_option, make_config
from vocabx.export.config import ApplyConfig


@click.command("apply")
@config_options(ApplyConfig, arguments=("patch", "base"))
@json_option
@config_option
@handle_errors
def apply(patch: str, base: str, as_json: bool, config_file: str | None, **flags: Any) -> None:
    """Rebuild the model PATCH was made from, on BASE (refused when BASE's hashes differ from the patch's).

    \b
    vocabx apply runs/model.patch smollm2-135m --out runs/model-rebuilt
    """
    from vocabx.export.apply import apply_patch

    result = apply_patch(make_config(ApplyConfig, config_file, patch=patch, base=base, **flags))
    if as_json:
        emit_json(result)
        return
    files = {k.removeprefix("files_"): v for k, v in result.items() if k.startswith("files_")}
    click.echo(f"wrote {result['out']} in {result['seconds']:.1f} s; every file's hash matches the patched model's "
               f"({', '.join(f'{v} {k}' for k, v in files.items())})")
