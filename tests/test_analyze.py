"""Unit tests of the analyze library on tiny real artifacts: n-gram counts, statistics, selection, projection."""

from __future__ import annotations

import io
from collections import Counter

import numpy as np
import pytest

from vocabx.analyze.ngrams import count_ngrams, hash_strings
from vocabx.analyze.occurrences import RunText
from vocabx.analyze.select import select
from vocabx.analyze.segment import detect_lang, segment
from vocabx.analyze.stats import branching_entropy, cohesion, log_odds_z

MED = ["高血压患者要注意饮食。", "高血压的治疗需要长期服药，高血压患者应定期复查。", "血压高不一定是高血压。"] * 4


def test_ngram_counts_match_python_counts():
    counts = count_ngrams(MED, 4, prune_below=1)
    expected = Counter(t[i : i + 3] for t in MED for i in range(len(t) - 2))
    table = counts.tables[3]
    for gram in ("高血压", "血压患", "患者要"):
        assert table.count_of(hash_strings([gram]))[0] == expected[gram]
    assert table.count_of(hash_strings(["压。高"]))[0] == 0  # never across punctuation
    assert counts.positions == sum("\u4e00" <= ch <= "\u9fff" for t in MED for ch in t)


def test_ngram_merge_equals_single_pass():
    whole = count_ngrams(MED, 4, prune_below=1)
    merged = count_ngrams(MED[:5], 4, prune_below=1).merge(count_ngrams(MED[5:], 4, prune_below=1))
    for n in (2, 3, 4):
        np.testing.assert_array_equal(whole.tables[n].keys, merged.tables[n].keys)
        np.testing.assert_array_equal(whole.tables[n].counts, merged.tables[n].counts)
        np.testing.assert_array_equal(whole.tables[n].doc_freq, merged.tables[n].doc_freq)
        assert whole.tables[n].strings(np.arange(3)) == merged.tables[n].strings(np.arange(3))


def test_doc_freq_counts_documents_once():
    counts = count_ngrams(["高血压高血压", "高血压", "无关"], 3, prune_below=1)
    i = counts.tables[3].lookup(hash_strings(["高血压"]))[0]
    assert counts.tables[3].counts[i] == 3 and counts.tables[3].doc_freq[i] == 2


def test_cohesion_and_entropy_by_hand():
    # 甲乙 always together (PMI high); right neighbours of 甲乙 in "甲乙丙 甲乙丁": 丙, 丁 -> entropy log 2.
    docs = ["甲乙丙", "甲乙丁"]
    counts = count_ngrams(docs, 3, prune_below=1)
    i = counts.tables[2].lookup(hash_strings(["甲乙"]))[0]
    left, right = branching_entropy(counts, 2)
    assert right[i] == pytest.approx(np.log(2))
    assert left[i] == pytest.approx(np.log(2))  # both occurrences start a document: distinct boundaries
    # PMI(甲, 乙) = log(2 * 6 / (2 * 2)) = log 3
    assert cohesion(counts, 2)[i] == pytest.approx(np.log(3))


def test_log_odds_sign_and_prior():
    z = log_odds_z(np.array([50, 5, 0]), 1000, np.array([5, 50, 10]), 1000)
    assert z[0] > 1.96 and z[1] < -1.96 and z[2] < 0


def test_segment_and_lang():
    assert detect_lang(["高血压患者 CT 检查"]) == "zh" and detect_lang(["the quick fox 你"]) == "other"
    assert "高血压" in segment("高血压患者需要治疗", "zh")
    assert segment("COVID-19 isn't naïve, ok.", "other") == ["COVID-19", "isn't", "naïve", "ok"]


def _selection(runs: dict[str, int], terms: list[str], base_cost: list[int]):
    text = RunText.build(runs)
    hashes = text.rolling_hashes(4)
    pos, term = text.matches(terms, hashes)
    lengths = np.array([len(t) for t in terms])
    char_cost = np.where(text.run_id >= 0, 3.0, 0.0)
    return select(pos, term, lengths, np.array(base_cost), np.ones(len(terms)), char_cost,
                  text.weight.astype(float))


def test_selection_is_overlap_aware():
    # 高血压 x10: once it is chosen, 高血 and 血压 save nothing more; 血压 alone (x3) still saves.
    runs = {"高血压": 10, "血压": 3}
    sel = _selection(runs, ["高血", "血压", "高血压"], [6, 6, 9])
    order = sel.order.tolist()
    assert order[0] == 2 and sel.gain[0] == pytest.approx(10 * (9 - 1))
    assert order[1] == 1 and sel.gain[1] == pytest.approx(3 * (6 - 1))  # only the 3 stand-alone occurrences
    assert sel.gain[2] == 0  # 高血 lies inside every chosen 高血压


def test_selection_never_double_counts_self_overlap():
    sel = _selection({"哈哈哈": 1}, ["哈哈"], [6])
    assert sel.gain[0] == pytest.approx(5)  # one match of 哈哈 in 哈哈哈, not two


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


@pytest.mark.parametrize("name", ["tiny_sp", "tiny_bpe"])
def test_projection_is_faithful_to_longest_match(name, request):
    """The vectorized projection equals a plain Python longest-match with gaps encoded in context."""
    from vocabx.analyze.fragmentation import Projector
    from vocabx.analyze.pieces import PieceEncoder

    adapter = request.getfixturevalue(name)
    encoder = PieceEncoder(adapter)
    runs = {"高血压患者要注意饮食": 3, "高血压的治疗需要长期服药": 2, "血压高不一定是高血压": 1}
    text = RunText.build(runs)
    projector = Projector(text, text.rolling_hashes(4), encoder)
    terms = ["高血压", "患者", "血压", "治疗"]
    expected = 0
    for run, freq in runs.items():
        i, pieces, gap = 0, 0, ""
        while i < len(run):
            match = next((run[i : i + n] for n in (4, 3, 2) if run[i : i + n] in terms), None)
            if match:
                pieces += 1 + (int(encoder.count([gap])[0]) if gap else 0)
                gap, i = "", i + len(match)
            else:
                gap, i = gap + run[i], i + 1
        pieces += int(encoder.count([gap])[0]) if gap else 0
        expected += pieces * freq
    assert projector.han_tokens(terms) == expected
    base = sum(int(encoder.count([r])[0]) * f for r, f in runs.items())
    assert projector.han_tokens([]) == base  # no terms: exactly the base in-context cost


def test_piece_encoder_has_no_dummy_prefix(tiny_sp):
    from vocabx.analyze.pieces import PieceEncoder

    enc = PieceEncoder(tiny_sp)
    ids = enc.encode(["高血压"])[0]
    assert tiny_sp.decode(ids) == "高血压" and not tiny_sp.id_to_token(ids[0]).startswith("▁")
