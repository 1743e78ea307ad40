"""WordPiece extension: a tiny BERT-style vocab.txt, CJK runs kept together, old behaviour kept on non-CJK text and
never longer on CJK text; the real bert-base-chinese vocabulary with medical terms."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest_shared import SHARED
from vocabx.adapters.wordpiece import wordpiece_from_vocab
from vocabx.errors import TokenizerError
from vocabx.extend.wordpiece import WordPieceExtender

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHARS = list("高血压患者糖尿病的")  # 痛 is deliberately missing: a CJK character the vocab does not know
LATIN = ["the", "patient", "has", "high", "blood", "pressure", "a", "b", "##s", "##e", ",", ".", "1", "0"]
VOCAB = SPECIALS + CHARS + ["##" + c for c in CHARS] + LATIN + ["\u2028"]  # U+2028 must not shift later ids
CJK_TEXT = st.text(alphabet=st.sampled_from(CHARS + list("痛 ,a。")), max_size=30)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    path = tmp_path_factory.mktemp("wp") / "vocab.txt"
    path.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return wordpiece_from_vocab(path)


@pytest.fixture(scope="module")
def extension(base):
    return WordPieceExtender().extend(base, ["高血压", "糖尿病", "Patients"], budget=10)


def tokens(adapter, text: str) -> list[str]:
    return adapter.tokenizer.encode(text, add_special_tokens=False).tokens


def test_ids_kept_and_new_ids_follow(base, extension) -> None:
    old = base.tokenizer.get_vocab()
    new = extension.extended.tokenizer.get_vocab()
    assert all(new[t] == i for t, i in old.items())
    assert old["[UNK]"] == 1 and old["\u2028"] == len(VOCAB) - 1
    assert [e.id for e in extension.added] == list(range(len(VOCAB), len(VOCAB) + len(extension.added)))


def test_one_term_by_hand(base, extension) -> None:
    # Without a corpus both forms of each CJK term follow term rank: run-initial, then in-run.
    assert [(e.token, e.kind) for e in extension.added] == [
        ("高血压", "term"), ("##高血压", "intermediate"), ("糖尿病", "term"), ("##糖尿病", "intermediate"), ("patients", "term"),
    ]
    ext = extension.extended
    assert tokens(base, "患者高血压") == ["患", "者", "高", "血", "压"]
    assert tokens(ext, "患者高血压") == ["患", "##者", "##高血压"]
    assert tokens(ext, "高血压的") == ["高血压", "##的"]
    assert ext.encode("高血压") == [ext.token_to_id("高血压")]
    # 痛 has no entries: it stays a word of its own, as BERT had it, and splits the run around it.
    assert tokens(ext, "高血压痛糖尿病") == ["高血压", "[UNK]", "糖尿病"]


def test_non_cjk_text_is_unchanged(base, extension) -> None:
    for text in ["The patient has high blood pressure.", "a,b 10", "bees", "ü\u2028x"]:
        assert base.encode(text) == extension.extended.encode(text)


@settings(max_examples=200, deadline=None)
@given(text=CJK_TEXT)
def test_never_longer_on_cjk_text(base, extension, text: str) -> None:
    assert len(extension.extended.encode(text)) <= len(base.encode(text))


def test_corpus_picks_the_forms_that_save(base) -> None:
    corpus = ["患者高血压高血压。", "的高血压"] * 5  # 高血压 mostly inside runs: its ## form saves more
    ext = WordPieceExtender().extend(base, ["高血压", "糖尿病"], budget=1, corpus=corpus)
    assert [e.token for e in ext.added] == ["##高血压"]
    assert ext.skipped == {"over_budget": ["糖尿病"]}  # never seen in the corpus, so nothing to save


def test_bad_terms_are_counted_skips(base) -> None:
    ext = WordPieceExtender().extend(base, ["", "高 血", "高", "头痛", "高血压", "高血压", "ct高"], budget=10)
    assert ext.skipped["invalid"] == [""]
    assert ext.skipped["crosses_pretoken_boundary"] == ["高 血", "ct高"]
    assert ext.skipped["already_present"] == ["高"]
    assert ext.skipped["unreachable"] == ["头痛"]
    assert ext.skipped["duplicate"] == ["高血压"]


def test_refuses_other_families() -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import BPE

    from vocabx.adapters import HFTokenizerAdapter

    other = HFTokenizerAdapter(Tokenizer(BPE({"a": 0}, [])).to_str(), "bpe", "memory")
    with pytest.raises(TokenizerError, match="not WordPiece"):
        WordPieceExtender().extend(other, ["高血压"], budget=1)


@pytest.mark.slow  # importing transformers alone takes seconds
def test_save_loads_with_autotokenizer_and_is_deterministic(extension, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    files = WordPieceExtender().save(extension, tmp_path / "a")
    WordPieceExtender().save(extension, tmp_path / "b")
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    lines = (tmp_path / "a" / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert lines[: len(VOCAB)] == VOCAB and lines[len(VOCAB)] == "高血压"
    auto = AutoTokenizer.from_pretrained(str(tmp_path / "a"))
    for text in ["患者高血压", "The patient 糖尿病", "高血压痛"]:
        assert auto.encode(text, add_special_tokens=False) == extension.extended.encode(text)


BERT = SHARED / "tokenizers" / "bert-zh" / "vocab.txt"
DIALOGUES = SHARED / "corpora" / "medical-zh" / "dialogues.csv"


@pytest.mark.slow
@pytest.mark.skipif(not BERT.is_file() or not DIALOGUES.is_file(), reason=f"shared data not found under {SHARED}")
def test_bert_chinese_with_medical_terms() -> None:
    with DIALOGUES.open(encoding="utf-8") as fh:
        rows = [r["title"] + "\n" + r["ask"] + "\n" + r["answer"] for _, r in zip(range(400), csv.DictReader(fh))]
    base = wordpiece_from_vocab(BERT)
    assert base.token_to_id("的") == 4638  # bert-base-chinese's id: the vocab loads line = id
    terms = ["高血压", "糖尿病", "患者", "医生", "建议", "治疗", "检查", "症状", "药物", "饮食", "肝硬化", "脂肪肝"]
    ext = WordPieceExtender().extend(base, terms, budget=20, corpus=rows[1::2])
    held = rows[::2]
    assert ext.extended.count_tokens(held) < 0.97 * base.count_tokens(held)
    general = [json.loads(ln)["sentence"] for ln in (SHARED / "corpora" / "general-zh" / "tnews_unlabeled.json").open()][:300]
    general += (SHARED / "corpora" / "general-en" / "wiki_demo.txt").read_text().splitlines()[:20]
    for before, after in zip(base.encode_batch(general), ext.extended.encode_batch(general)):
        assert len(after) <= len(before)
    for entry in ext.added:
        if entry.kind == "term":
            assert ext.extended.encode(entry.text) == [entry.id]


def test_registry_refuses_options_and_modes_wordpiece_lacks() -> None:
    from vocabx.errors import UsageError
    from vocabx.extend.registry import get_extender

    assert isinstance(get_extender("wordpiece", progress=True), WordPieceExtender)
    with pytest.raises(UsageError, match=r"WordPieceExtender does not take the option\(s\) min_frequency, scope") as info:
        get_extender("wordpiece", scope="corpus", min_frequency=3)
    assert info.value.hint == "it takes: progress"
    with pytest.raises(UsageError, match="--mode train is not available for wordpiece") as info:
        get_extender("wordpiece", "train")
    assert "train mode supports: bytelevel-bpe, sentencepiece-bpe" in (info.value.hint or "")
