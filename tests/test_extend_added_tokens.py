"""The added-tokens fallback: ids follow, each term is one token, skips are counted, and the documented pitfall
(a match inside another word) is real; SentencePiece and WordPiece bases both save as loadable directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._builders import train_sp
from vocabx.adapters import HFTokenizerAdapter, SentencePieceAdapter
from vocabx.adapters.wordpiece import wordpiece_from_vocab
from vocabx.extend.added_tokens import AddedTokensExtender, screen_terms

CORPUS = ["高血压患者需要长期服药。", "Hypertension needs long-term care.", "糖尿病患者要控制饮食。"] * 40


@pytest.fixture(scope="module")
def sp_base() -> SentencePieceAdapter:
    model = train_sp(CORPUS, "bpe", 320, split_digits=False, normalization_rule_name="identity")
    return SentencePieceAdapter(model, "tiny", "memory")


def test_screen_terms_by_hand() -> None:
    kept, skipped = screen_terms(["高血压", "", "高血压", "a b", "x\x00", "有"], lambda t: t == "有")
    assert kept == ["高血压"]
    assert skipped == {
        "invalid": ["", "x\x00"], "duplicate": ["高血压"], "crosses_pretoken_boundary": ["a b"], "already_present": ["有"],
    }


def test_sentencepiece_base_terms_become_single_tokens(sp_base) -> None:
    ext = AddedTokensExtender().extend(sp_base, ["冠心病", "脂肪肝", "冠心病", "高血压病史"], budget=2)
    assert [(e.token, e.id) for e in ext.added] == [("冠心病", sp_base.vocab_size), ("脂肪肝", sp_base.vocab_size + 1)]
    assert ext.skipped == {"duplicate": ["冠心病"], "over_budget": ["高血压病史"]}
    new = ext.extended
    assert isinstance(new, HFTokenizerAdapter)
    assert sp_base.vocab_size + 2 == new.vocab_size
    assert new.token_to_id("冠心病") in new.encode("他有冠心病。")
    for text in ["他有冠心病。", "冠心病，脂肪肝", "Hypertension  care", " x", ""]:
        assert new.decode(new.encode(text)) == sp_base.decode(sp_base.encode(text))  # the base collapses spaces


def test_pitfall_added_tokens_match_inside_other_words(sp_base) -> None:
    ext = AddedTokensExtender().extend(sp_base, ["ten"], budget=1)
    assert ext.extended.token_to_id("ten") in ext.extended.encode("Hypertension")  # `ten` fires inside a word


@pytest.mark.slow  # importing transformers alone takes seconds
def test_wordpiece_base_and_saved_directories_load(sp_base, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "高", "血", "压", "##压"]) + "\n", encoding="utf-8")
    wp = wordpiece_from_vocab(vocab)
    for base in (wp, sp_base):
        ext = AddedTokensExtender().extend(base, ["高血压"], budget=5)
        out = tmp_path / base.name
        files = AddedTokensExtender().save(ext, out)
        assert "tokenizer.json" in files
        auto = AutoTokenizer.from_pretrained(str(out))
        assert auto.encode("高血压", add_special_tokens=False) == ext.extended.encode("高血压") == [ext.added[0].id]
