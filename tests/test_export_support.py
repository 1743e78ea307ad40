"""Tiny real artifacts for the export tests: a 2-layer Llama base with an in-process byte-level BPE, extended for
real by `vocabx extend` (merges, new rows, manifest), and skips for the optional llama.cpp runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_train_support import DOMAIN_WORDS, GENERAL_WORDS, NEW_TERMS, sentences, write_tiny_model

DOMAIN = sentences(DOMAIN_WORDS, 60, 11, "")
GENERAL = sentences(GENERAL_WORDS, 60, 12, " ")


def needs_llama_cpp() -> None:
    """Skip with the reason when the `gguf` extra (llama-cpp-python) or llama.cpp's converter is absent."""
    from vocabx.errors import MissingDependencyError
    from vocabx.export.converter import find_converter
    from vocabx.export.runtime import llama_cpp_available

    if not llama_cpp_available():
        pytest.skip("llama-cpp-python is not installed (the vocabx[gguf] extra; `make install` builds it)")
    try:
        find_converter()
    except MissingDependencyError:
        pytest.skip("llama.cpp's converter is not unpacked (`make install` does it, or set VOCABX_LLAMA_CPP)")


def write_extended(root: Path, *, tied: bool = True, budget: int = 12) -> tuple[Path, Path]:
    """(base model dir, its `vocabx extend` output with up to `budget` new entries and grown rows)."""
    from vocabx.extend.api import ExtendConfig, extend

    base = write_tiny_model(root / "base", tied=tied, extended=False)
    (root / "terms.txt").write_text("\n".join(NEW_TERMS) + "\n", encoding="utf-8")
    (root / "domain.txt").write_text("\n".join(DOMAIN) + "\n", encoding="utf-8")
    out = root / "extended"
    extend(ExtendConfig(base=str(base), out=str(out), terms=str(root / "terms.txt"), budget=budget,
                        corpus=(str(root / "domain.txt"),), init="subword-mean" if tied else "subword-last",
                        init_output=None if tied else "subword-first"))
    return base, out


@pytest.fixture(scope="session")
def tiny_pair(tmp_path_factory) -> tuple[Path, Path]:
    return write_extended(tmp_path_factory.mktemp("export-tied"))


@pytest.fixture(scope="session")
def tiny_pair_untied(tmp_path_factory) -> tuple[Path, Path]:
    return write_extended(tmp_path_factory.mktemp("export-untied"), tied=False)
