"""Test-wide settings and the shared session fixtures: tiny real tokenizers and models built in-process (from the
plain helpers in tests/_*.py, which test modules import directly for anything that is not a fixture).

Property tests are derandomized in CI (same examples every run) and have no deadline, since the shared 2-core
machine makes per-example timing meaningless.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from tests._builders import MED, train_bpe, train_sp

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# Scripts the tests run in subprocesses: not test modules, and nothing to import under --doctest-modules.
collect_ignore = ["dist_worker.py", "fault_worker.py"]


# -- tokenizers --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_sp():
    """A SentencePiece BPE trained into memory on a few medical sentences (byte fallback on)."""
    from vocabx.adapters import SentencePieceAdapter

    sentences = MED * 5 + ["the patient has high blood pressure"] * 5
    model = train_sp(sentences, "bpe", 330, hard_vocab_limit=False, character_coverage=0.98, split_digits=False)
    return SentencePieceAdapter(model, "tiny-sp", "memory")


@pytest.fixture(scope="session")
def tiny_bpe():
    """A byte-level BPE trained in-process with `tokenizers` on the same sentences."""
    from vocabx.adapters import HFTokenizerAdapter

    tok = train_bpe(MED * 5 + ["the patient has high blood pressure"] * 5, 300)
    return HFTokenizerAdapter(tok.to_str(), "tiny-bpe", "memory")


@pytest.fixture(scope="session")
def plain_sp():
    """A SentencePiece BPE with Llama-2's normalization: identity, spaces kept, a dummy prefix, byte fallback."""
    from vocabx.adapters import SentencePieceAdapter

    model = train_sp(MED * 5 + ["the patient has high blood pressure, isn't it?"] * 5, "bpe", 320,
                     hard_vocab_limit=False, character_coverage=0.98, split_digits=False,
                     normalization_rule_name="identity", remove_extra_whitespaces=False)
    return SentencePieceAdapter(model, "plain-sp", "memory")


# -- model checkpoints (tests/test_model_*.py) -------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_tok():
    """The byte-level BPE the tiny checkpoints are sized to (a `tokenizers.Tokenizer`)."""
    from tests._checkpoints import model_bpe

    return model_bpe()


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory, tiny_tok) -> dict[str, Path]:
    """Checkpoints keyed by layout: single/sharded x tied/untied, plus one padded beyond the tokenizer, and bf16."""
    from tests._checkpoints import save_tiny_models

    return save_tiny_models(tmp_path_factory.mktemp("models"), tiny_tok)


# -- a chat model with its corpora (train, eval, export) ---------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with a ChatML BPE extended by NEW_TERMS, and a manifest saying so."""
    from tests._tiny_llama import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Domain, general and blank text files drawn from the tiny model's word lists."""
    from tests._tiny_llama import write_corpora

    return write_corpora(tmp_path_factory.mktemp("corpora"))


@pytest.fixture(scope="session")
def sft_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Alpaca, ShareGPT and a bad SFT file for the tiny model."""
    from tests._tiny_llama import write_sft_files

    return write_sft_files(tmp_path_factory.mktemp("sft"))


@pytest.fixture(scope="session")
def tiny_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(tied base, its `vocabx extend` output)."""
    from tests._tiny_llama import write_extended

    return write_extended(tmp_path_factory.mktemp("export-tied"))


@pytest.fixture(scope="session")
def tiny_pair_untied(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(untied base, its `vocabx extend` output)."""
    from tests._tiny_llama import write_extended

    return write_extended(tmp_path_factory.mktemp("export-untied"), tied=False)


# -- vocabx select -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pool(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A generated JSONL pool whose medical documents, copies and junk are known (see tests/_select_pool.py)."""
    from tests._select_pool import write_pool

    return write_pool(tmp_path_factory.mktemp("pool"))
