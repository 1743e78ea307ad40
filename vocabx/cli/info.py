"""`vocabx corpora` and `vocabx tokenizers`: what named corpora and built-in tokenizers exist, and which are installed."""

from __future__ import annotations

import importlib.util
from typing import Any

import click

from vocabx.cli.common import emit_json, handle_errors, json_option


def _package_installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def card_rows() -> list[dict[str, Any]]:
    """One row per corpus card: name, language, size, source, and whether it can be read here without a download."""
    from vocabx.corpus import list_cards

    rows = []
    for card in list_cards():
        source = card.source
        if card.kind == "package":
            where = f"{source['package']}: {source['path']}"
            installed: bool | None = _package_installed(str(source["path"]).split("/")[0])
        else:
            where = f"hf:{source['dataset']}" + (f":{source['config']}" if source.get("config") else "")
            installed = None  # streamed from the hub: needs the network, nothing to install
        rows.append({
            "name": card.name, "language": card.language, "size": _size(card.size), "source": where,
            "installed": installed, "install": card.install, "license": card.license, "description": card.description,
        })
    return rows


def _size(size: dict[str, Any]) -> str:
    """`1,234,567 chars, 2,000 docs` when measured, else the card's note."""
    if size.get("chars"):
        docs = f", {size['docs']:,} docs" if size.get("docs") else ""
        return f"{size['chars']:,} chars{docs}"
    return "not measured"


def tokenizer_rows() -> list[dict[str, Any]]:
    """One row per built-in tokenizer name: its package, file, description and whether the package is installed."""
    from vocabx.adapters.builtin import BUILTIN_TOKENIZERS

    first_name: dict[int, str] = {}
    rows = []
    for name, entry in BUILTIN_TOKENIZERS.items():
        alias_of = first_name.setdefault(id(entry), name)
        rows.append({
            "name": name, "package": entry.package, "file": entry.path,
            "description": entry.description if alias_of == name else f"alias of {alias_of}",
            "installed": _package_installed(entry.module),
        })
    return rows


def _text(value: Any) -> str:
    """Table cell text; for `installed`, None means streamed from the network (nothing to install)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "network" if value is None else str(value)


def _table(rows: list[dict[str, Any]], keys: list[str]) -> str:
    cells = [[_text(row[k]) for k in keys] for row in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) if cells else len(k) for i, k in enumerate(keys)]
    lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell_row, widths)).rstrip() for cell_row in cells]
    return "\n".join(lines)


@click.command("corpora")
@json_option
@handle_errors
def corpora(as_json: bool) -> None:
    """List the named corpora (corpus cards) usable as a CORPUS argument.

    \b
    vocabx corpora
    vocabx analyze legal-zh --reference news-zh --tokenizer smollm2 --out runs/analysis
    """
    rows = card_rows()
    if as_json:
        emit_json(rows)
        return
    click.echo(_table(rows, ["name", "language", "size", "source", "installed"]))
    missing = [row for row in rows if row["installed"] is False]
    for row in missing:
        click.echo(f"{row['name']}: {row['install']}", err=True)


@click.command("tokenizers")
@json_option
@handle_errors
def tokenizers(as_json: bool) -> None:
    """List the built-in tokenizer names usable wherever a TOKENIZER is expected.

    \b
    vocabx tokenizers
    vocabx bench smollm2 qwen2 --corpus news-zh
    """
    rows = tokenizer_rows()
    if as_json:
        emit_json(rows)
        return
    click.echo(_table(rows, ["name", "description", "package", "installed"]))
    for row in rows:
        if not row["installed"]:
            click.echo(f"{row['name']}: pip install --no-deps {row['package']}", err=True)
