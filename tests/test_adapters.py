"""Tokenizer adapters: every family loads from what a user points at, round-trips, and reports its boundaries."""

from __future__ import annotations

import json

import pytest

from tests._builders import CharAdapter, train_bpe, train_sp
from vocabx.adapters import HFTokenizerAdapter, SentencePieceAdapter, load_tokenizer
from vocabx.adapters.hf import detect_family
from vocabx.errors import TokenizerError

TEXT = ["高血压患者需要长期服药。", "Hypertension needs long-term care.", "糖尿病 and 高血压 123", "emoji 🙂 ok"] * 50
SAMPLES = ["", "高血压", "a  b\tc\n", "🙂🙃 mixed 中文 text", "Ünïcödé ñ"]


@pytest.fixture(scope="session")
def bytelevel_json() -> str:
    return train_bpe(TEXT, 400).to_str()


@pytest.fixture(scope="session")
def sp_model() -> bytes:
    return train_sp(TEXT, "bpe", 400, split_digits=False)


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


def test_protocol_defaults_raise_where_a_family_cannot() -> None:
    tok = CharAdapter()
    assert tok.layout is None and tok.unknown_token is None
    with pytest.raises(TokenizerError, match="chars is a unigram tokenizer .* cannot encode apart") as info:
        tok.piece_encoder()
    assert "SentencePiece .model" in (info.value.hint or "")
    with pytest.raises(TokenizerError, match="not from tokenizer.json text") as info:
        tok.tokenizer_json()
    assert ".gguf" in (info.value.hint or "")
    flags, kind = tok.fallback_flags()  # every vocabulary has these: `<0x..>` pieces and the unknown token
    assert flags.tolist() == [False, False, False, True] and kind == "byte_fallback"


def test_families_declare_what_they_can_do(bytelevel_json: str, sp_model: bytes, tmp_path) -> None:
    bpe = HFTokenizerAdapter(bytelevel_json, "t", "mem")
    assert bpe.layout == "byte-level" and bpe.tokenizer_json() == bytelevel_json
    flags, kind = bpe.fallback_flags()
    assert kind == "partial_utf8" and flags.tolist() == ["\ufffd" in bpe.decode([i]) for i in range(bpe.vocab_size)]
    assert bpe.piece_encoder()(["高血压", "care"]) == [bpe.encode("高血压"), bpe.encode("care")]  # one pre-token each
    sp = SentencePieceAdapter(sp_model, "sp", "mem")
    assert sp.layout == "sentencepiece" and sp.fallback_flags()[1] == "byte_fallback"
    ids = sp.piece_encoder()(["高血压"])[0]
    assert sp.decode(ids) == "高血压" and not sp.id_to_token(ids[0]).startswith("▁")  # no dummy prefix
    with pytest.raises(TokenizerError, match="sp is a sentencepiece-bpe tokenizer .*not from tokenizer.json"):
        sp.tokenizer_json()
    # A directory holding both forms: each adapter reads back its own (tokenizer.json wins for `load_tokenizer`).
    (tmp_path / "tokenizer.model").write_bytes(sp_model)
    (tmp_path / "tokenizer.json").write_text(bytelevel_json, encoding="utf-8")
    assert type(sp.load_saved(tmp_path)) is SentencePieceAdapter and type(bpe.load_saved(tmp_path)) is HFTokenizerAdapter
    (tmp_path / "tokenizer.model").unlink()
    assert type(sp.load_saved(tmp_path)) is HFTokenizerAdapter
