"""The root `vocabx` group: version, help, logging verbosity, and lazily loaded subcommands."""

from __future__ import annotations

import importlib.util
import logging

import click

from vocabx import __version__
from vocabx.cli.common import VERBOSE_KEY, renamed_option_error
from vocabx.lazy import import_target

# name -> "module:attribute"; a module is imported only when its command runs or its help is shown.
COMMANDS: dict[str, str] = {
    "analyze": "vocabx.cli.analyze:analyze",
    "extend": "vocabx.cli.extend:extend",
    "verify": "vocabx.cli.extend:verify",
    "export": "vocabx.cli.export:export",
    "apply": "vocabx.cli.apply:apply",
    "select": "vocabx.cli.select:select",
    "train": "vocabx.cli.train:train",
    "eval": "vocabx.cli.evaluate:evaluate",
    "bench": "vocabx.cli.bench:bench",
    "demo": "vocabx.cli.demo:demo",
    "corpora": "vocabx.cli.info:corpora",
    "tokenizers": "vocabx.cli.info:tokenizers",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use; commands whose module is absent are not listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if importlib.util.find_spec(COMMANDS[name].split(":")[0]) is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return import_target(COMMANDS.get(cmd_name, ""))

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.NoSuchOption as exc:  # raised while a subcommand parses its arguments
            raise renamed_option_error(exc) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, "--version", prog_name="vocabx")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Adapt a pretrained LLM's vocabulary to a domain or a language.

    \b
    vocabx analyze corpus/ --tokenizer smollm2 --out runs/analysis
    vocabx extend smollm2-135m --terms runs/analysis --budget 5000 --out runs/model
    vocabx train cpt runs/model --data corpus/ --replay general.txt --out runs/cpt
    vocabx bench smollm2 runs/model --corpus corpus/ --out runs/bench
    vocabx export gguf runs/model --out model.gguf
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    click.get_current_context().meta[VERBOSE_KEY] = verbose

