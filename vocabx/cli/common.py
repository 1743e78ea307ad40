"""Pieces every subcommand shares: mapping library errors to one-line exits, JSON output, progress, --config."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import click

from vocabx.config import build_config, choices, read_config_file
from vocabx.errors import VocabxError, first_line
from vocabx.outputs import disk_full, to_jsonable

F = TypeVar("F", bound=Callable[..., Any])
VERBOSE_KEY = "vocabx.verbose"  # click context meta: how many -v the root command was given
T = TypeVar("T")


class VocabxClickError(click.ClickException):
    """A `VocabxError` rendered as `Error: message (hint)` on one line, with the error's exit code."""

    def __init__(self, error: VocabxError) -> None:
        super().__init__(str(error))
        # click declares exit_code a ClassVar, but Command.main reads it from the instance (e.exit_code).
        self.exit_code = error.exit_code  # type: ignore[misc]


def handle_errors(func: F) -> F:
    """Turn `VocabxError`, a file system error, a full disk, Ctrl-C and, as a last resort, any other exception
    into a one-line message and an exit code: never a traceback, unless -vv asked for one."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except VocabxError as exc:
            raise VocabxClickError(exc) from None
        except KeyboardInterrupt:
            # Commands that keep partial work (training checkpoints) raise `Interrupted` saying so instead.
            click.echo("Interrupted; no partial output was kept.", err=True)
            sys.exit(130)
        except click.ClickException:
            raise
        except OSError as exc:
            # A full disk or a permission problem midway: outputs are atomic, so nothing half-written remains.
            what = "disk full" if disk_full(exc) else exc.strerror or str(exc)
            raise click.ClickException(f"{what} ({exc.filename or ''}); no partial output was kept") from None
        except Exception as exc:
            if disk_full(exc):
                raise click.ClickException(f"disk full ({first_line(exc)}); no partial output was kept") from None
            context = click.get_current_context(silent=True)
            if context is not None and context.find_root().meta.get(VERBOSE_KEY, 0) >= 2:
                raise  # -vv: the traceback, for a bug report
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {first_line(exc)} (a vocabx bug: rerun with -vv for the "
                "traceback and please report it; outputs are atomic, so no partial output was kept)") from None

    return wrapper  # type: ignore[return-value]


def json_option(func: F) -> F:
    """Add `--json`: print the result as JSON on stdout instead of the human summary."""
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of a summary.")(func)


def config_option(func: F) -> F:
    """Add `--config FILE`: a YAML/JSON/TOML file that fills the command's config (flags win)."""
    return click.option(
        "--config", "config_file", type=click.Path(dir_okay=False), default=None,
        help="YAML/JSON/TOML file with config fields; flags given on the command line win.",
    )(func)


def make_config(cls: type[T], config_file: str | None, **flags: Any) -> T:
    """Build a command's config dataclass from its --config file and the flags the user actually set."""
    ctx = click.get_current_context()
    # Flags left at their click default do not override the file; click defaults mirror the dataclass defaults.
    given = {
        name: value
        for name, value in flags.items()
        if ctx.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT, None)
    }
    file_values = read_config_file(config_file) if config_file else None
    return build_config(cls, file_values, **given)


def emit_json(data: Any) -> None:
    """Print data as indented UTF-8 JSON on stdout."""
    click.echo(json.dumps(to_jsonable(data), ensure_ascii=False, indent=2))


def progress_enabled() -> bool:
    """Show progress bars only when stderr is a terminal (not in CI logs or pipes)."""
    return sys.stderr.isatty()


def importing_torch() -> contextlib.AbstractContextManager[None]:
    """Wrap a command's import of its torch-based library: torch, transformers and peft take seconds to import,
    which would otherwise be the command's first, silent seconds."""
    from vocabx.progress import step

    return step("importing torch and transformers", progress_enabled())


# Short flags: one table for every command, so `-o` is `--out` wherever a command has an `out` field.
SHORT_FLAGS = {"out": "-o", "tokenizer": "-t", "reference": "-r"}

# Removed options -> how to say the same now; the root group adds it to click's "No such option" error.
RENAMED_OPTIONS = {f"--{role}-text-field": f"--{role} SPEC#FIELD" for role in ("domain", "general", "reference", "replay")}


def renamed_option_error(error: click.NoSuchOption) -> click.NoSuchOption:
    """`error`, saying what replaced its option where that option was removed (`--replay-text-field`)."""
    instead = RENAMED_OPTIONS.get(error.option_name)
    if instead is None:
        return error
    return click.NoSuchOption(error.option_name, ctx=error.ctx, message=(
        f"No such option {error.option_name!r}: --text-field FIELD now names the text field of every input, "
        f"{instead} that of one input."))


class IntList(click.ParamType):
    """A comma-separated list of integers (`--budgets 1000,5000`), for a `tuple[int, ...]` field."""

    name = "N,N,..."

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, ...]:
        if isinstance(value, tuple):
            return value
        try:
            return tuple(int(x) for x in str(value).split(",") if x.strip())
        except ValueError:
            self.fail(f"expected comma-separated integers, got {value!r}", param, ctx)


def _click_type(hint: Any) -> tuple[Any, bool]:
    """(click type, is a repeatable option) for a dataclass field's annotation: a Literal is a click.Choice, a
    tuple of strings a repeatable option, a tuple of ints one comma-separated option."""
    valid = choices(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1 else hint
    if typing.get_origin(base) is tuple:
        if typing.get_args(base)[:1] == (int,):
            return IntList(), False
        return (click.Choice(list(valid)) if valid else str), True
    if valid:
        return click.Choice(list(valid)), False
    return {int: int, float: float, bool: bool}.get(base, str), False


def _default_text(f: dataclasses.Field) -> str:
    """` [default: X]` for a field's help; nothing for an empty default (None, "", (), False) or a required one."""
    value = f.default
    if value is None or value is False or value is dataclasses.MISSING or value in ("", ()):  # off says nothing
        return ""
    if value is True:
        return f" [default: --{f.metadata.get('flag', f.name.replace('_', '-'))}]"
    return f" [default: {','.join(map(str, value)) if isinstance(value, tuple) else value}]"


def config_options(cls: type, arguments: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Decorate a command with its config dataclass: the fields named in `arguments` are its positional arguments
    (a tuple field takes any number), every other field is an option `--field-name` (or `--{metadata['flag']}`)
    with the field's help and default, a click.Choice for a `Literal` and `--x/--no-x` for a bool. Options
    default to None, so that only the flags given override a `--config` file (`make_config`)."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}

    def decorate(func: F) -> F:
        for f in reversed(list(fields.values())):
            if f.name in arguments:
                continue
            kind, multiple = _click_type(hints[f.name])
            flag = "--" + f.metadata.get("flag", f.name.replace("_", "-"))
            short = [SHORT_FLAGS[f.name]] if f.name in SHORT_FLAGS else []
            help_text = str(f.metadata.get("help", "")) + _default_text(f)
            if kind is bool:
                func = click.option(f"{flag}/--no-{flag[2:]}", *short, f.name, default=None, help=help_text)(func)
            else:
                func = click.option(flag, *short, f.name, type=kind, multiple=multiple, default=() if multiple else None,
                                    metavar=f.metadata.get("metavar"), help=help_text)(func)
        for name in reversed(arguments):
            multiple = typing.get_origin(hints[name]) is tuple
            func = click.argument(name, nargs=-1 if multiple else 1, required=not multiple,
                                  metavar=fields[name].metadata.get("metavar"))(func)
        return func

    return decorate
