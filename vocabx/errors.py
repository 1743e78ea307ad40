"""The error hierarchy: every failure a user can cause or fix is a `VocabxError`.

Library code raises these; the CLI turns them into one line and a non-zero exit. A message names the bad
value, what was expected, and the next step (the `hint`).
"""

from __future__ import annotations

from pathlib import Path


class VocabxError(Exception):
    """Base class: `message` says what is wrong, `hint` says how to fix it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(VocabxError):
    """A bad option value or a combination of options that cannot work."""

    exit_code = 2


class CorpusError(VocabxError):
    """A corpus that cannot be read: missing, empty, binary, undecodable, malformed records."""


class TokenizerError(VocabxError):
    """A tokenizer path or id that does not resolve, or a tokenizer family vocabx does not support."""


class ModelError(VocabxError):
    """A model directory or checkpoint that cannot be read, resized or saved."""


class GuaranteeError(VocabxError):
    """An extension that fails one of its guarantees (ids kept, lossless, never longer, ...): nothing is written."""


class OutputError(VocabxError):
    """An output location that exists, sits inside an input, or cannot be written."""


class Interrupted(VocabxError):
    """Ctrl-C (SIGINT) or SIGTERM during a run; the message says what was kept. Exit 130, as shells expect."""

    exit_code = 130


class MissingDependencyError(VocabxError):
    """An optional package that the requested feature needs is not installed."""

    def __init__(self, package: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the Python package '{package}', which is not installed",
            hint=f"pip install {package}",
        )
        self.package = package


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's text, cut at `limit` characters (library errors can run to pages)."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else ""


def package_dir(module: str, feature: str, package: str | None = None) -> Path:
    """The directory of an installed package, found without importing it (jieba's import alone loads its HMM
    tables, where only its data files are wanted), or `MissingDependencyError`."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(package or module, feature)
    return Path(next(iter(spec.submodule_search_locations)))


def require(module: str, feature: str, package: str | None = None):
    """Import `module` or raise `MissingDependencyError` naming the pip package to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(package or module, feature) from exc
