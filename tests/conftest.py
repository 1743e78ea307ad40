"""Test-wide settings: property tests are derandomized in CI (same examples every run) and have no deadline,
since the shared 2-core machine makes per-example timing meaningless."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# A few medical sentences: the tiny tokenizers below are trained on them, analyze tests mine them.
MED = ["高血压患者要注意饮食。", "高血压的治疗需要长期服药，高血压患者应定期复查。", "血压高不一定是高血压。"] * 4


@pytest.fixture(scope="session")
def tiny_sp():
    """A SentencePiece BPE trained into memory on a few medical sentences (byte fallback on)."""
    sentencepiece = pytest.importorskip("sentencepiece")
    from vocabx.adapters import SentencePieceAdapter

    model = io.BytesIO()
    sentences = MED * 5 + ["the patient has high blood pressure"] * 5
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=model, vocab_size=330, model_type="bpe", hard_vocab_limit=False,
        byte_fallback=True, character_coverage=0.98, minloglevel=2,
    )
    return SentencePieceAdapter(model.getvalue(), "tiny-sp", "memory")


@pytest.fixture(scope="session")
def tiny_bpe():
    """A byte-level BPE trained in-process with `tokenizers`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from vocabx.adapters import HFTokenizerAdapter

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(MED * 5 + ["the patient has high blood pressure"] * 5, trainer)
    return HFTokenizerAdapter(tok.to_str(), "tiny-bpe", "memory")


@pytest.fixture(scope="session")
def plain_sp():
    """A SentencePiece BPE with Llama-2's normalization: identity, spaces kept, a dummy prefix, byte fallback."""
    import sentencepiece

    from vocabx.adapters import SentencePieceAdapter

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(MED * 5 + ["the patient has high blood pressure, isn't it?"] * 5), model_writer=model,
        vocab_size=320, model_type="bpe", hard_vocab_limit=False, byte_fallback=True, character_coverage=0.98,
        normalization_rule_name="identity", remove_extra_whitespaces=False, minloglevel=2)
    return SentencePieceAdapter(model.getvalue(), "plain-sp", "memory")
