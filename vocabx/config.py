"""Command configs are dataclasses; this module fills one from defaults, a YAML/JSON/TOML file and flags.

Precedence: dataclass defaults < `--config FILE` < flags given on the command line.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from vocabx.errors import UsageError

T = TypeVar("T")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a YAML, JSON or TOML config file into a dict (keys may use - or _)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"config file {path} does not exist", hint="pass --config with an existing .yaml/.json/.toml")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        elif path.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except Exception as exc:
        raise UsageError(f"config file {path} does not parse: {exc}", hint="fix the syntax, or use .yaml/.json/.toml") from exc
    if not isinstance(data, dict):
        raise UsageError(f"config file {path} must hold a mapping of field names to values", hint="e.g. `budget: 5000`")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def build_config(cls: type[T], file_values: Mapping[str, Any] | None = None, **flags: Any) -> T:
    """An instance of dataclass `cls`: defaults, overridden by `file_values`, overridden by `flags`.

    Flags whose value is None are treated as not given. Unknown keys are an error naming the valid fields.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for source in (file_values or {}, {k: v for k, v in flags.items() if v is not None}):
        unknown = sorted(set(source) - set(fields))
        if unknown:
            raise UsageError(
                f"unknown {cls.__name__} field(s): {', '.join(unknown)}",
                hint=f"valid fields: {', '.join(sorted(fields))}",
            )
        values.update(source)
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        if isinstance(value, list) and "tuple" in str(hints.get(name, "")):
            values[name] = tuple(value)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"invalid {cls.__name__}: {exc}", hint="check the option values") from exc


def documented(text: str, default: Any = None, **kwargs: Any) -> Any:
    """A config dataclass field with its help text in `metadata`, which the CLI reuses for `--help`."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("mutable default: use a tuple")
    return dataclasses.field(default=default, metadata={"help": text}, **kwargs)


def field_help(cls: type, name: str) -> str:
    """The docstring-like help of a dataclass field, from its `metadata['help']`."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return str(f.metadata.get("help", ""))
    raise KeyError(name)
