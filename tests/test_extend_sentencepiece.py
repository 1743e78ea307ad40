"""SentencePiece BPE extension: a tiny model trained in memory, invariants first (old pieces untouched, lossless,
never longer, fast == slow, deterministic), then one hand-checked term; the Chinese-LLaMA merge baseline; the real
Llama-2 model with medical terms."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sentencepiece as spm
from hypothesis import given, settings
from hypothesis import strategies as st

from tests._builders import train_sp
from tests.conftest_shared import SHARED
from vocabx.adapters import HFTokenizerAdapter, SentencePieceAdapter
from vocabx.errors import TokenizerError
from vocabx.extend.sentencepiece import SentencePieceExtender, _variant, sentencepiece_to_json
from vocabx.extend.sp_learn import ContinuedBPE
from vocabx.extend.sp_merge import SentencePieceMergeExtender, merge_models, merge_pieces

CORPUS = [
    "高血压患者需要长期服药。", "糖尿病患者要控制饮食。", "Hypertension needs long-term care.",
    "血压高怎么办？", "患者血糖高。", "the patient has high blood pressure", "压力 and 血液 123",
] * 40
DOMAIN = ["高血压患者的高血压病史。", "糖尿病和高血压。", "高血压高血压，糖尿病！"] * 10
TEXTS = st.text(alphabet=st.sampled_from(list("高血压糖尿病患者的 ab\n。😀é1")), max_size=30) | st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@pytest.fixture(scope="module")
def base() -> SentencePieceAdapter:
    return SentencePieceAdapter(train_sp(CORPUS), "tiny", "memory")


@pytest.fixture(scope="module")
def extension(base):
    return SentencePieceExtender().extend(base, ["高血压", "糖尿病", "高血压病史", "患者的"], budget=10, corpus=DOMAIN)


def running(adapter: SentencePieceAdapter, text: str) -> list[int]:
    """Ids of `text` as it appears inside running text (no dummy prefix)."""
    return _variant(adapter.proto, add_dummy_prefix=False).encode(text)


def test_old_pieces_keep_id_string_score_and_new_ids_follow(base, extension) -> None:
    ext = extension.extended
    assert ext.vocab_size == base.vocab_size + len(extension.added)
    for old, new in zip(base.proto.pieces, ext.proto.pieces):
        assert (old.piece, old.score, old.type) == (new.piece, new.score, new.type)
    assert [e.id for e in extension.added] == list(range(base.vocab_size, ext.vocab_size))
    floor = min(p.score for p in base.proto.pieces if p.type == 1)
    new_scores = [p.score for p in ext.proto.pieces[base.vocab_size :]]
    assert all(s < floor for s in new_scores) and new_scores == sorted(new_scores, reverse=True)


def test_every_added_term_is_produced_in_running_text(extension) -> None:
    terms = [e for e in extension.added if e.kind == "term"]
    assert {e.token for e in terms} >= {"高血压", "糖尿病"}
    for entry in terms:
        assert running(extension.extended, entry.text) == [entry.id]
    produced = {i for t in DOMAIN for i in extension.extended.encode(t)}
    assert {e.id for e in terms} <= produced


@settings(max_examples=150, deadline=None)
@given(text=TEXTS)
def test_lossless_and_never_longer(base, extension, text: str) -> None:
    ext = extension.extended
    assert ext.decode(ext.encode(text)) == base.decode(base.encode(text))
    assert len(ext.encode(text)) <= len(base.encode(text))


@settings(max_examples=150, deadline=None)
@given(text=TEXTS)
def test_tokenizer_json_agrees_with_sentencepiece(extension, text: str) -> None:
    fast = HFTokenizerAdapter(sentencepiece_to_json(extension.extended.model_bytes), "fast", "json")
    assert fast.encode(text) == extension.extended.encode(text)


def test_one_term_by_hand(base) -> None:
    # The tiny model spells 高血压 as 高 + 血压 (血压 is frequent in CORPUS, 高血压 rarer): one merge makes the term.
    assert [base.id_to_token(i) for i in running(base, "高血压")] == ["高", "血压"]
    ext = SentencePieceExtender().extend(base, ["高血压"], budget=1)
    n = base.vocab_size
    assert [(e.token, e.text, e.id, e.kind) for e in ext.added] == [("高血压", "高血压", n, "term")]
    floor = min(p.score for p in base.proto.pieces if p.type == 1)
    assert ext.extended.proto.pieces[n].score == floor - 1  # just below the lowest old piece
    assert running(ext.extended, "患者高血压。") == running(base, "患者") + [n] + running(base, "。")
    # A term two merges away (高血压病: 高血压 + 病) does not fit a budget of 1; the better-ranked term goes first.
    tight = SentencePieceExtender().extend(base, ["高血压", "高血压病"], budget=1)
    assert [e.token for e in tight.added] == ["高血压"] and tight.skipped == {"over_budget": ["高血压病"]}


def test_bad_terms_are_counted_skips(base) -> None:
    terms = ["高血压", "", "高 血压", "a\x07b", "高血压", "高", " 糖尿病", "血压123"]
    ext = SentencePieceExtender().extend(base, terms, budget=5)
    assert ext.skipped["invalid"] == ["", "a\x07b", " 糖尿病"]
    # split_digits: digits stay alone. `高 血压` is two words joined by a space, which one piece may cover.
    assert ext.skipped["crosses_pretoken_boundary"] == ["血压123"]
    assert ext.skipped["duplicate"] == ["高血压"]
    assert ext.skipped["already_present"] == ["高"]
    assert ext.counts["skipped_invalid"] == 3


def test_multiword_terms_become_one_piece_the_encoder_uses(base) -> None:
    text = "the patient has high blood pressure"
    ext = SentencePieceExtender().extend(base, ["blood pressure"], budget=20, corpus=[text] * 5)
    assert {e.token: e.kind for e in ext.added}.get("▁blood▁pressure") == "term"
    assert ext.extended.token_to_id("▁blood▁pressure") in ext.extended.encode(text)
    assert len(ext.extended.encode(text)) < len(base.encode(text))


def test_unigram_and_non_sentencepiece_bases_are_refused(base) -> None:
    unigram = SentencePieceAdapter(train_sp(CORPUS, "unigram", 315), "uni", "memory")
    with pytest.raises(TokenizerError, match="not a SentencePiece BPE"):
        SentencePieceExtender().extend(unigram, ["高血压"], budget=5)


def test_corpus_scope_learns_phrases_and_keeps_guarantees(base) -> None:
    assert SentencePieceExtender(mode="train").scope == "corpus"  # the registry's --mode train
    ext = SentencePieceExtender(scope="corpus").extend(base, ["高血压"], budget=20, corpus=DOMAIN)
    assert 5 < len(ext.added) <= 20  # stops early once no merge saves min_frequency tokens
    assert any(e.token.endswith("。") or "，" in e.token or "！" in e.token for e in ext.added)
    assert ext.extended.count_tokens(DOMAIN) < base.count_tokens(DOMAIN)
    for text in CORPUS[:7] + DOMAIN[:3]:
        assert len(ext.extended.encode(text)) <= len(base.encode(text))
        assert ext.extended.decode(ext.extended.encode(text)) == base.decode(base.encode(text))  # nmt_nfkc: ？->?


def test_byte_fallback_characters_get_a_piece_before_any_merge(base) -> None:
    # 痹 is not in the tiny model (it spells it in 3 bytes): the learner adds it as a piece, then 麻痹.
    ext = SentencePieceExtender().extend(base, ["麻痹"], budget=5)
    tokens = [e.token for e in ext.added]
    assert "痹" in tokens and "麻" in tokens and tokens[-1] == "麻痹"
    assert tokens.index("痹") < tokens.index("麻痹")
    assert running(ext.extended, "麻痹") == [ext.extended.token_to_id("麻痹")]


def test_learner_applies_old_merges_a_new_piece_unlocks() -> None:
    # `abc` is an old piece the base cannot reach (no `ab`, no `bc`). Once `ab` exists, SentencePiece merges
    # `ab`+`c` at once (old pieces outrank new ones), so the learner must too, and needs no `abc` of its own.
    bpe = ContinuedBPE({"a": -1.0, "b": -2.0, "c": -3.0, "abc": -4.0}, max_piece_chars=16)
    assert bpe.learn([(["a", "b", "c"], 5)], budget=5) == ["ab"]


def test_learner_waits_for_byte_fallback_characters() -> None:
    # `z` is spelled in bytes by the base (pending): the pair (y, z) can only merge once `z` has a piece.
    bpe = ContinuedBPE({"y": -1.0}, max_piece_chars=16)
    assert bpe.learn([(["y", "z"], 4)], budget=5, pending={"z"}) == []  # z is 1 byte: a piece of its own saves 0
    assert bpe.learn([(["y", "ž"], 4)], budget=5, pending={"ž"}) == ["ž", "yž"]


@pytest.mark.slow  # importing transformers alone takes seconds
def test_save_writes_a_directory_autotokenizer_loads_deterministically(extension, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    files = SentencePieceExtender().save(extension, tmp_path / "a")
    SentencePieceExtender().save(extension, tmp_path / "b")
    assert files == ["special_tokens_map.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json"]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    auto = AutoTokenizer.from_pretrained(str(tmp_path / "a"))
    assert auto.is_fast
    raw = spm.SentencePieceProcessor(model_file=str(tmp_path / "a" / "tokenizer.model"))
    for text in [*DOMAIN[:3], " 高血压", "  two  spaces ", "x\n\ny", "😀é", ""]:
        assert auto.encode(text, add_special_tokens=False) == raw.encode(text)
    assert auto.encode("高血压")[0] == raw.bos_id()


def test_chinese_llama_merge_appends_score_zero_in_donor_order(base) -> None:
    donor = train_sp(["肝硬化腹水。", "肝硬化和脂肪肝。", "高血压"] * 30, vocab_size=290)
    model, appended = merge_models(base.model_bytes, donor)
    merged = SentencePieceAdapter(model, "m", "m")
    assert merged.vocab_size == base.vocab_size + len(appended)
    assert all(p.score == 0 and p.type == 1 for p in merged.proto.pieces[base.vocab_size :])
    assert [p.piece for p in merged.proto.pieces[base.vocab_size :]] == appended
    again, none = merge_pieces(model, appended)
    assert none == [] and again == model
    ext = SentencePieceMergeExtender().extend(base, ["高血压", "高血压病史"], budget=1)
    assert ext.skipped == {"over_budget": ["高血压病史"]} and len(ext.added) == 1
    # No intermediates: 高血压病史 alone (高血压病史 = 高血压 + 病史, and 病史 is no piece) is never produced.
    orphan = SentencePieceMergeExtender().extend(base, ["高血压病史"], budget=1)
    assert any("not produced" in note for note in orphan.notes)
    assert running(orphan.extended, "高血压病史") != [base.vocab_size]


# --- the real Llama-2 model ------------------------------------------------------------------------------------

LLAMA = SHARED / "tokenizers" / "llama2" / "tokenizer.model"
DIALOGUES = SHARED / "corpora" / "medical-zh" / "dialogues.csv"


@pytest.mark.slow
@pytest.mark.skipif(not LLAMA.is_file() or not DIALOGUES.is_file(), reason=f"shared data not found under {SHARED}")
def test_llama2_with_medical_terms() -> None:
    import jieba

    with DIALOGUES.open(encoding="utf-8") as fh:
        rows = [r["title"] + "\n" + r["ask"] + "\n" + r["answer"] for r in csv.DictReader(fh)]
    mining = [t for i, t in enumerate(rows[:2000]) if i % 10]
    held = [t for i, t in enumerate(rows[:2000]) if i % 10 == 0]
    words: dict[str, int] = {}
    for text in mining[:500]:
        for w in jieba.lcut(text):
            if len(w) > 1 and all("\u4e00" <= ch <= "\u9fff" for ch in w):
                words[w] = words.get(w, 0) + 1
    terms = sorted(words, key=lambda w: (-words[w], w))[:300]
    base = SentencePieceAdapter.from_file(LLAMA)
    ext = SentencePieceExtender().extend(base, terms, budget=400, corpus=mining)
    new = ext.extended
    assert ext.counts["added"] <= 400 and not ext.skipped.get("unreachable")
    assert new.count_tokens(held) < 0.8 * base.count_tokens(held)
    general = [ln for ln in (SHARED / "corpora" / "general-en" / "wiki_demo.txt").read_text().splitlines()[:50]]
    general += [json.loads(ln)["sentence"] for ln in (SHARED / "corpora" / "general-zh" / "tnews_unlabeled.json").open()][:300]
    for before, after in zip(base.encode_batch(general), new.encode_batch(general)):
        assert len(after) <= len(before)
    fast = HFTokenizerAdapter(sentencepiece_to_json(new.model_bytes), "fast", "json")
    sample = held[:50] + general[:50]
    assert fast.encode_batch(sample) == new.encode_batch(sample)
    assert all(new.decode(ids) == t for t, ids in zip(sample, new.encode_batch(sample)))


def test_registry_passes_declared_options_and_refuses_others(tmp_path: Path) -> None:
    from vocabx.errors import UsageError
    from vocabx.extend.registry import get_extender

    assert get_extender("sentencepiece-bpe", "train").scope == "corpus"
    built = get_extender("sentencepiece-bpe", progress=True, min_frequency=3)
    assert built.scope == "terms" and built.min_frequency == 3 and built.progress
    donor = tmp_path / "donor.model"
    assert get_extender("sentencepiece-bpe", "merge", progress=True, donor=donor).donor == donor  # reports no progress
    with pytest.raises(UsageError, match=r"SentencePieceMergeExtender does not take the option\(s\) scope") as info:
        get_extender("sentencepiece-bpe", "merge", scope="corpus")
    assert info.value.hint == "it takes: donor"
