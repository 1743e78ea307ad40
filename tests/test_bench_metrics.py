"""Bench metrics: invariants first (same text for every tokenizer, ratios against the reference), then values
small enough to check by hand."""

from __future__ import annotations

import pytest

from tests._builders import bytelevel, wordpiece_json
from vocabx.adapters import HFTokenizerAdapter
from vocabx.bench import CorpusSample, bench_samples
from vocabx.bench.labels import corpus_label, split_label, unique_labels
from vocabx.bench.words import WordCount, count_words, han_chars
from vocabx.errors import CorpusError, UsageError


@pytest.fixture(scope="module")
def pair() -> list:
    """`ab` merges a and b (5 tokens for ababababab); `bytes` has no merges (one token per byte)."""
    return [("bytes", bytelevel("bytes", [])), ("ab", bytelevel("ab", [("a", "b")]))]


def test_hand_checked_values(pair) -> None:
    # 10 chars -> 5 tokens with the merge, 10 without: 2.0 chars/token, context gain 2.0 over the reference.
    sample = CorpusSample.from_texts("c", "c", ["ababababab"])
    result = bench_samples(pair, [sample], context=2048, repeats=0)
    ref, merged = result.row("bytes", "c"), result.row("ab", "c")
    assert (ref.tokens, merged.tokens) == (10, 5)
    assert merged.chars_per_token == 2.0 and merged.bytes_per_token == 2.0 and merged.tokens_per_char == 0.5
    assert merged.context_gain == 2.0 and merged.normalized_length == 0.5 and merged.chars_per_window == 4096
    assert ref.context_gain == 1.0 and ref.normalized_length == 1.0
    assert merged.tokens_per_word == 5.0  # one word
    assert merged.single_mb_s is None and result.throughput["modes"] == "not measured"


def test_two_documents_and_words(pair) -> None:
    # "ab ab ab": pre-tokens ab, Ġab, Ġab -> 1 + 2 + 2 = 5 tokens with the merge, 8 bytes without; 3 words.
    sample = CorpusSample.from_texts("c", "c", ["ababababab", "ab ab ab", ""])
    assert sample.documents == 2 and sample.chars == 18 and sample.words == 4
    result = bench_samples(pair, [sample], reference="ab", repeats=0)
    assert result.reference == "ab"
    assert result.row("ab", "c").tokens == 10 and result.row("bytes", "c").tokens == 18
    assert result.row("ab", "c").tokens_per_word == 2.5
    assert result.row("bytes", "c").context_gain == pytest.approx(10 / 18)
    assert result.row("bytes", "c").normalized_length == pytest.approx(1.8)


def test_roundtrip_is_reported_not_fatal_for_wordpiece(pair) -> None:
    wp = HFTokenizerAdapter(wordpiece_json(), name="wp", source="memory:wp")
    sample = CorpusSample.from_texts("en", "en", ["hello world", "Hello, World."], ["en:1", "en:2"])
    result = bench_samples([pair[0], ("wp", wp)], [sample], repeats=0)
    row = result.row("wp", "en")
    assert row.roundtrip_ok == 1 and row.roundtrip_share == 0.5 and row.roundtrip_first_failure == "en:2"
    assert result.row("bytes", "en").roundtrip_share == 1.0  # byte-level BPE is lossless


def test_throughput_is_measured_for_every_pair(pair) -> None:
    sample = CorpusSample.from_texts("c", "c", ["ab ab 高血压"] * 50)
    result = bench_samples(pair, [sample], repeats=2)
    for row in result.rows:
        assert row.single_mb_s > 0 and row.batch_mb_s > 0
    assert result.throughput["repeats"] == 2 and result.throughput["cpu_count"]


def test_bad_inputs(pair) -> None:
    sample = CorpusSample.from_texts("c", "c", ["ab"])
    with pytest.raises(UsageError, match="reference 'nope'") as err:
        bench_samples(pair, [sample], reference="nope", repeats=0)
    assert "bytes, ab" in err.value.hint
    with pytest.raises(CorpusError, match="no text"):
        bench_samples(pair, [CorpusSample.from_texts("e", "empty.txt", ["", ""])], repeats=0)
    with pytest.raises(UsageError, match="unique"):
        bench_samples([pair[0], pair[0]], [sample], repeats=0)


def test_word_counts() -> None:
    assert count_words(["Tokens per word, don't panic: 42!"]) == WordCount(6, "other", "unicode-words")
    assert count_words([]).words == 0
    # A Chinese corpus goes through jieba: 高血压 / 患者 / 需要 / 服药 are four words; punctuation is not a word.
    zh = count_words(["高血压患者需要服药。"])
    assert zh.words == 4 and zh.lang == "zh" and zh.segmenter in ("jieba-kernel", "rjieba", "jieba")
    assert han_chars("高血压 BP") == 3
    sample = CorpusSample.from_texts("zh", "zh", ["高血压患者需要服药。", "糖尿病"])
    assert sample.words == 5 and sample.han_chars == 12 and sample.segmenter == zh.segmenter


def test_labels() -> None:
    assert split_label("base=runs/model") == ("base", "runs/model")
    assert split_label("org/model") == (None, "org/model")
    assert split_label("a/b=c") == (None, "a/b=c")  # '/' is not allowed in a label
    assert unique_labels(["x", "x", "y", "x"]) == ["x", "x-2", "y", "x-3"]
    assert unique_labels(["x", "x", "x-2"]) == ["x", "x-3", "x-2"]
    assert corpus_label("legal-zh") == "legal-zh"
