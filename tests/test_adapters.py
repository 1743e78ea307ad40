"""Tokenizer adapters: every family loads from what a user points at, round-trips, and reports its boundaries."""

from __future__ import annotations

import io
import json

import pytest
import sentencepiece as spm
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from vocabx.adapters import HFTokenizerAdapter, SentencePieceAdapter, load_tokenizer
from vocabx.adapters.hf import detect_family
from vocabx.errors import TokenizerError

TEXT = ["高血压患者需要长期服药。", "Hypertension needs long-term care.", "糖尿病 and 高血压 123", "emoji 🙂 ok"] * 50
SAMPLES = ["", "高血压", "a  b\tc\n", "🙂🙃 mixed 中文 text", "Ünïcödé ñ"]


@pytest.fixture(scope="session")
def bytelevel_json() -> str:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(TEXT, trainer)
    return tok.to_str()


@pytest.fixture(scope="session")
def sp_model() -> bytes:
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(TEXT), model_writer=buf, vocab_size=400, model_type="bpe",
        byte_fallback=True, character_coverage=1.0, minloglevel=2,
    )
    return buf.getvalue()


def test_bytelevel_roundtrip_and_family(bytelevel_json: str, tmp_path) -> None:
    path = tmp_path / "tokenizer.json"
    path.write_text(bytelevel_json, encoding="utf-8")
    for spec in (path, tmp_path):
        tok = load_tokenizer(spec)
        assert isinstance(tok, HFTokenizerAdapter) and tok.family == "bytelevel-bpe"
        for s in SAMPLES:
            assert tok.decode(tok.encode(s)) == s
    assert tok.encode_batch(SAMPLES) == [tok.encode(s) for s in SAMPLES]
    assert tok.count_tokens(SAMPLES, batch_size=2) == sum(len(tok.encode(s)) for s in SAMPLES)


def test_bytelevel_term_to_token_is_the_gpt2_byte_alphabet(bytelevel_json: str) -> None:
    tok = HFTokenizerAdapter(bytelevel_json, "t", "mem")
    assert tok.term_to_token("a b") == "aĠb"  # space (0x20) maps to U+0120 'Ġ'
    assert tok.term_to_token("高") == "é«ĺ"  # 高 = E9 AB 98
    assert tok.crosses_boundary("hello world") and not tok.crosses_boundary("高血压")


def test_sentencepiece_adapter(sp_model: bytes, tmp_path) -> None:
    path = tmp_path / "tokenizer.model"
    path.write_bytes(sp_model)
    tok = load_tokenizer(path)
    assert isinstance(tok, SentencePieceAdapter) and tok.family == "sentencepiece-bpe"
    for s in SAMPLES[1:]:
        assert tok.decode(tok.encode(s)).strip() == " ".join(s.split()).strip()
    assert tok.token_to_id(tok.id_to_token(5)) == 5
    assert tok.token_to_id("no-such-piece-xyz") is None
    # SentencePiece never lets a piece cover two scripts or a space: 糖尿病 and "and" are separate segments.
    segments = [s for s, _ in tok.pretokenize("糖尿病and 123")]
    assert segments == ["▁糖尿病", "and", "▁1", "2", "3"]


def test_detect_family_from_json() -> None:
    assert detect_family({"model": {"type": "WordPiece"}}) == "wordpiece"
    assert detect_family({"model": {"type": "BPE"}, "pre_tokenizer": {"type": "Metaspace"}}) == "hf-bpe"
    seq = {"type": "Sequence", "pretokenizers": [{"type": "Digits"}, {"type": "ByteLevel"}]}
    assert detect_family({"model": {"type": "BPE"}, "pre_tokenizer": seq}) == "bytelevel-bpe"
    with pytest.raises(TokenizerError, match="WordLevel"):
        detect_family({"model": {"type": "WordLevel"}})


@pytest.mark.parametrize(
    "spec, match",
    [("./no/such/tokenizer.json", "does not exist"), ("not-a-real-name.bin", "does not exist")],
)
def test_bad_specs_name_the_problem(spec: str, match: str) -> None:
    with pytest.raises(TokenizerError, match=match) as info:
        load_tokenizer(spec)
    assert info.value.hint and "tokenizer.json" in info.value.hint


def test_not_a_tokenizer(tmp_path) -> None:
    bad = tmp_path / "tokenizer.json"
    bad.write_text(json.dumps({"hello": 1}), encoding="utf-8")
    with pytest.raises(TokenizerError, match="not a valid tokenizer.json"):
        load_tokenizer(bad)
    (tmp_path / "x.model").write_bytes(b"\x00\x01garbage")
    with pytest.raises(TokenizerError, match="not a SentencePiece model"):
        load_tokenizer(tmp_path / "x.model")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TokenizerError, match="holds no tokenizer"):
        load_tokenizer(empty)


def test_hub_id_offline_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TokenizerError, match="hub") as info:
        load_tokenizer("no-such-org/no-such-model")
    assert "HF_HUB_OFFLINE" in (info.value.hint or "")
