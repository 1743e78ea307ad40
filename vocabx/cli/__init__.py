"""The `vocabx` command line: a thin layer that parses flags, builds a config, calls the library and renders.

Subcommands live one per module and are imported only when run, so `vocabx --help` starts fast.
"""

from vocabx.cli.main import main

__all__ = ["main"]
