"""Command configs are dataclasses; this module fills one from defaults, a YAML/JSON/TOML file and flags.

Precedence: dataclass defaults < `--config FILE` < flags given on the command line.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import types
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
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"config file {path} is not UTF-8 text (byte {exc.start}: {exc.reason})",
                         hint="save it as UTF-8 YAML, JSON or TOML and pass it to --config again") from None
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        elif path.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - each format has its own errors (YAMLError, TOMLDecodeError, ValueError)
        where = " ".join(str(exc).split())[:300]  # YAML's message spans lines, with a caret drawing: one line here
        raise UsageError(f"config file {path} does not parse: {where}", hint="fix the syntax, or use .yaml/.json/.toml") from None
    if not isinstance(data, dict):
        raise UsageError(f"config file {path} must hold a mapping of field names to values", hint="e.g. `budget: 5000`")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def build_config(cls: type[T], file_values: Mapping[str, Any] | None = None, **flags: Any) -> T:
    """An instance of dataclass `cls`: defaults, overridden by `file_values`, overridden by `flags`.

    Flags whose value is None are treated as not given. Unknown keys are an error naming the valid fields.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for source in (file_values or {}, {k: v for k, v in flags.items() if v is not None}):
        unknown = sorted(set(source) - set(fields))
        if unknown:
            raise UsageError(
                f"unknown {cls.__name__} field(s): {', '.join(unknown)}",
                hint=f"valid fields: {', '.join(sorted(fields))}",
            )
        values.update(source)
    for name, value in (file_values or {}).items():
        if name in values and values[name] is value:  # a flag given on the command line was typed by click
            values[name] = _typed(name, value, hints[name])
    for name, value in values.items():
        if isinstance(value, list) and "tuple" in str(hints.get(name, "")):
            values[name] = tuple(value)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"invalid {cls.__name__}: {exc}", hint="check the option values") from exc


def _typed(name: str, value: Any, hint: Any) -> Any:
    """A config-file value checked against its field's annotation: `5` for an int, `[a, b]` or `a` for a tuple of
    strings, `0.5` or `1` for a float; anything else is a UsageError that names the field and what it expects."""
    options = [a for a in typing.get_args(hint) if a is not type(None)] if typing.get_origin(hint) in (
        typing.Union, types.UnionType) else [hint]
    if value is None and type(None) in typing.get_args(hint):
        return None
    for option in options:
        origin = typing.get_origin(option)
        if origin is typing.Literal and value in typing.get_args(option):
            return value
        if origin is tuple and isinstance(value, (list, tuple, str)):
            items = [value] if isinstance(value, str) else list(value)
            if all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in items):
                kind = (typing.get_args(option) or (str,))[0]
                return tuple(str(v) if kind is str else v for v in items)
        if option is bool and isinstance(value, bool):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if option is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    expected = " or ".join(_describe(o) for o in options)
    raise UsageError(f"config field {name!r} must be {expected}, got {type(value).__name__} {value!r}"[:300],
                     hint=f"fix {name} in the --config file")


def _describe(option: Any) -> str:
    if typing.get_origin(option) is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(option))
    if typing.get_origin(option) is tuple:
        return "a list of values"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(option, str(option))


def choices(hint: Any) -> tuple[Any, ...] | None:
    """The values a field may take when its annotation is a `Literal[...]` (also inside `X | None` or
    `tuple[X, ...]`), else None: `choices(Literal["a", "b"] | None) -> ("a", "b")`."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return choices(inner[0]) if len(inner) == 1 else None
    if typing.get_origin(hint) is tuple:
        return choices(typing.get_args(hint)[0]) if typing.get_args(hint) else None
    return typing.get_args(hint) if typing.get_origin(hint) is typing.Literal else None


def check_choice(name: str, value: Any, hint: Any) -> None:
    """The one check of a `Literal` field: every value given (one, or each of a tuple) is one of its choices."""
    valid = choices(hint)
    if valid is None or value is None:
        return
    for item in value if isinstance(value, (tuple, list)) else (value,):
        if item not in valid:
            raise UsageError(f"unknown {name} {item!r}", hint=f"use one of: {', '.join(map(str, valid))}")


def check_choices(instance: Any) -> None:
    """`check_choice` on every field of a config: its `__post_init__` calls this, so a library caller, a config
    file and a flag meet the same check (click.Choice only guards the flags)."""
    hints = typing.get_type_hints(type(instance))
    for f in dataclasses.fields(instance):
        check_choice(f.name, getattr(instance, f.name), hints[f.name])


def documented(text: str, default: Any = None, *, flag: str | None = None, metavar: str | None = None,
               **kwargs: Any) -> Any:
    """A config dataclass field with its help text in `metadata`, which the CLI turns into the field's option
    (`vocabx.cli.common.config_options`); `flag` names the option when it differs from the field (`--corpus` for
    `corpora`), `metavar` shows the value's form in `--help`."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("mutable default: use a tuple")
    metadata = {"help": text, **({"flag": flag} if flag else {}), **({"metavar": metavar} if metavar else {})}
    return dataclasses.field(default=default, metadata=metadata, **kwargs)


def text_field_option(inputs: str, more: str = "") -> Any:
    """The `text_field` of every command that reads text, declared once so it reads alike everywhere:
    `--text-field FIELD[,FIELD...]` names the JSON key or CSV column(s) of all of `inputs` (`--data and --replay`);
    one input written `SPEC#FIELD` reads its own (`vocabx.corpus.open_corpus`)."""
    return documented(f"JSON key or CSV column(s) holding the text of {inputs}, comma-separated (title,ask,answer); "
                      f"one input names its own as SPEC#FIELD.{more}", metavar="FIELD[,FIELD...]")
