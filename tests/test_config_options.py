"""Options generated from a config dataclass: one declaration gives the flag, its help, its default and its
choices; every command's flags are its config's fields, and library defaults agree with the configs."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from typing import Literal

import click
import pytest
from click.testing import CliRunner

from vocabx.cli.common import config_options, make_config
from vocabx.config import check_choices, choices, documented
from vocabx.errors import UsageError

Colour = Literal["red", "green"]


@dataclass(kw_only=True)
class Toy:
    items: tuple[str, ...] = documented("Things to do.", ())
    out: str = documented("Where.", "")
    colour: Colour = documented("A colour.", "red")
    also: tuple[Colour, ...] = documented("More colours.", ())
    sizes: tuple[int, ...] = documented("Sizes.", (1, 2))
    loud: bool = documented("Shout.", True)
    quiet: bool = documented("Whisper.", False)
    retries: int = documented("Retries.", 0)
    source_list: tuple[str, ...] = documented("Renamed flag.", (), flag="source")

    def __post_init__(self) -> None:
        check_choices(self)


@click.command()
@config_options(Toy, arguments=("items",))
def toy(**flags: object) -> None:
    click.echo(repr(make_config(Toy, None, **flags)))


def run(*args: str):
    return CliRunner().invoke(toy, list(args))


def test_choices_of_a_literal_wherever_it_sits() -> None:
    assert choices(Colour) == ("red", "green")
    assert choices(Colour | None) == ("red", "green")
    assert choices(tuple[Colour, ...]) == ("red", "green")
    assert choices(str) is None and choices(int | None) is None


def test_flags_given_override_the_defaults_and_nothing_else() -> None:
    result = run("a", "b", "-o", "x", "--also", "green", "--also", "red", "--sizes", "3,40", "--no-loud",
                 "--source", "s1")
    assert result.exit_code == 0, result.output
    expected = Toy(items=("a", "b"), out="x", also=("green", "red"), sizes=(3, 40), loud=False, source_list=("s1",))
    assert result.output.strip() == repr(expected)
    assert run().output.strip() == repr(Toy())


def test_help_shows_choices_defaults_and_the_short_flag() -> None:
    text = run("--help").output
    assert "[ITEMS]..." in text and "-o, --out" in text and "[red|green]" in text
    assert "[default: red]" in text and "[default: 1,2]" in text and "[default: --loud]" in text
    assert "[default: 0]" in text  # a zero is a default worth showing; an off flag is not
    assert "--quiet / --no-quiet" in text and "Whisper. [default" not in text
    assert "--source" in text and "--source-list" not in text


def test_a_bad_choice_is_refused_by_the_flag_and_by_the_library() -> None:
    result = run("--colour", "blue")
    assert result.exit_code == 2 and "blue" in result.output
    assert run("--sizes", "3,x").exit_code == 2
    with pytest.raises(UsageError, match="unknown also 'blue'"):
        Toy(also=("red", "blue"))  # type: ignore[arg-type]


def _params(command: click.Command) -> set[str]:
    return {p.name for p in command.params if p.name not in ("as_json", "config_file", "help")}


@pytest.mark.parametrize(("module", "name", "config"), [
    ("vocabx.cli.analyze", "analyze", "vocabx.analyze.api:AnalyzeConfig"),
    ("vocabx.cli.extend", "extend", "vocabx.extend.api:ExtendConfig"),
    ("vocabx.cli.extend", "verify", "vocabx.extend.api:VerifyConfig"),
    ("vocabx.cli.bench", "bench", "vocabx.bench.api:BenchConfig"),
])
def test_each_hand_written_command_takes_exactly_its_config_fields(module: str, name: str, config: str) -> None:
    from vocabx.lazy import import_target

    command = import_target(f"{module}:{name}")
    cls = import_target(config)
    assert _params(command) == {f.name for f in dataclasses.fields(cls)}
    for param in command.params:  # every option carries its field's help
        if isinstance(param, click.Option) and param.name in _params(command):
            assert param.help, param.name


def test_library_defaults_agree_with_the_config() -> None:
    from vocabx.extend.api import ExtendConfig
    from vocabx.model.api import extend_model
    from vocabx.model.methods import DEFAULT_INIT, INPUT_METHODS

    default = {f.name: f.default for f in dataclasses.fields(ExtendConfig)}["init"]
    assert default == DEFAULT_INIT == inspect.signature(extend_model).parameters["init"].default
    assert default in INPUT_METHODS
    with pytest.raises(UsageError, match="unknown init"):
        ExtendConfig(base="b", out="o", budget=1, init="median")  # type: ignore[arg-type]
