"""Tests of the pieces that make `analyze` fast: each must give exactly what the straightforward code gives
(vectorized lexicon lookups, the forked helper, the two-worker scan, presence-table uniques, nested covers)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from vocabx.analyze.lexicon import Lexicon, hash_words

MED = ["高血压患者要注意饮食。", "高血压的治疗需要长期服药，高血压患者应定期复查。", "血压高不一定是高血压。"] * 4


def test_hash_words_is_position_free_and_length_aware():
    keys = hash_words(["高血压", "", "血压", "高血压", "a", "aa"])
    assert keys[0] == keys[3] and len(set(keys.tolist())) == 5
    assert hash_words([]).shape == (0,)


def test_lexicon_lookups_equal_dict_lookups():
    counts = {"高血压": 876, "血压": 3000, "的": 0, "吃": 12, "CT值": 4}
    tags = {"高血压": "n", "的": "uj", "吃": "v"}
    lex = Lexicon.from_dicts(counts, tags)
    words = ["高血压", "血压", "的", "吃", "CT值", "没有", "", "高血"]
    assert lex.count(words).tolist() == [counts.get(w, 0) for w in words]
    assert (lex.find(words) >= 0).tolist() == [w in counts for w in words]  # an entry of count 0 is still found
    names = [lex.tag_names[c] if c >= 0 else None for c in lex.tag_codes(words).tolist()]
    assert names == [tags.get(w) for w in words]
    assert lex.total == sum(counts.values())
    assert lex.tag_class(prefixes=("u",))[lex.tag_codes(["的", "吃", "没有"])].tolist() == [True, False, False]


def test_dict_reference_equals_the_per_term_definition():
    from vocabx.analyze.stats import dict_reference

    counts = {"高血压": 876, "病人": 20000, "的": 3_000_000, "卷积": 50, "神经": 900, "网络": 40_000, "零": 0}
    lex = Lexicon.from_dicts(counts)
    cuts = {"高血压病人": ["高血压", "病人"], "卷积神经网络": ["卷积", "神经", "网络"], "零网络": ["零", "网络"],
            "高血压": ["高血压"], "未知词": ["未知词"], "的病人": ["的", "病人"]}
    terms = list(cuts)

    def by_hand(term: str) -> float:  # the definition, one term at a time
        if term in counts:
            return counts[term]
        parts = [counts.get(w, 0) for w in cuts[term]]
        if len(parts) < 2 or min(parts) == 0:
            return 0.0
        return min(lex.total * float(np.prod(np.array(parts, dtype=np.float64) / lex.total)), min(parts))

    assert dict_reference(terms, lex, cuts.__getitem__).tolist() == np.round([by_hand(t) for t in terms], 2).tolist()


def test_jieba_lexicon_cache_round_trip(tmp_path, monkeypatch):
    """The cached arrays give what parsing jieba's dict.txt gives (first call builds the cache, second reads it)."""
    jieba = pytest.importorskip("jieba")
    from pathlib import Path

    from vocabx.analyze import lexicon

    monkeypatch.setenv("VOCABX_CACHE", str(tmp_path))
    lexicon._jieba_lexicon.cache_clear()
    try:
        built = lexicon.jieba_lexicon()
        assert list(tmp_path.rglob("jieba-dict-*.npz"))
        lexicon._jieba_lexicon.cache_clear()
        loaded = lexicon.jieba_lexicon()
    finally:
        lexicon._jieba_lexicon.cache_clear()
    counts, tags = lexicon._parse_dict(Path(jieba.__file__).parent / "dict.txt")
    words = ["高血压", "的", "神经网络", "卷积", "表明", "不存在的词语"]
    for lex in (built, loaded):
        assert lex.count(words).tolist() == [counts.get(w, 0) for w in words]
        assert [lex.tag_names[c] if c >= 0 else None for c in lex.tag_codes(words)] == [tags.get(w) for w in words]
        assert lex.total == sum(counts.values())


def test_two_worker_scan_equals_one_worker(tiny_sp):
    """Shards go to the pool while this process counts their tokens; the merged result must not change, down to
    the order of every Counter (ties downstream follow it)."""
    from vocabx.analyze.pieces import fallback_flags
    from vocabx.analyze.scan import ScanJob, run_scan
    from vocabx.analyze.tokencount import TokenCounter

    counter = TokenCounter(tiny_sp, fallback_flags(tiny_sp)[0])
    shards = [MED[:5], MED[5:7], MED[7:]]
    job = ScanJob("zh", 4, 2)
    calls = []
    one = run_scan(iter(shards), job, 1, run_cap=10**9, tokens=counter.count, while_waiting=lambda: calls.append(1))
    two = run_scan(iter(shards), job, 2, run_cap=10**9, tokens=counter.count, while_waiting=lambda: calls.append(2))
    assert calls == [1, 2]  # the hook runs once per scan
    assert (one.tokens, one.flagged_tokens) == (two.tokens, two.flagged_tokens)
    assert one.tokens == sum(map(len, tiny_sp.encode_batch(MED)))
    assert list(one.words.items()) == list(two.words.items())
    assert list(one.word_docs.items()) == list(two.word_docs.items())
    assert list(one.runs.items()) == list(two.runs.items())
    for n, table in one.ngrams.tables.items():
        other = two.ngrams.tables[n]
        assert np.array_equal(table.keys, other.keys) and np.array_equal(table.counts, other.counts)
        assert np.array_equal(table.doc_freq, other.doc_freq) and np.array_equal(table.aligned, other.aligned)


def test_hash_index_sorted_and_unsorted_keys_agree():
    from vocabx.analyze.ngrams import HashIndex

    rng = np.random.default_rng(3)
    keys = np.unique(rng.integers(1, 2**63, 4000, dtype=np.uint64))
    queries = np.concatenate([keys[::3], rng.integers(1, 2**63, 500, dtype=np.uint64)])
    shuffled = rng.permutation(len(keys))
    sorted_hits = HashIndex(keys).lookup(queries)
    shuffled_hits = HashIndex(keys[shuffled]).lookup(queries)
    assert np.array_equal(np.where(shuffled_hits >= 0, shuffled[shuffled_hits.clip(0)], -1), sorted_hits)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_analyze_outputs_do_not_depend_on_workers(tmp_path, tiny_bpe):
    """One process or two (scan pool + projection helper): byte-identical terms.tsv and report.json."""
    import json

    from vocabx.analyze import AnalyzeConfig, analyze

    tokenizer = tmp_path / "tokenizer.json"
    tokenizer.write_text(tiny_bpe.json_text, encoding="utf-8")
    corpus = tmp_path / "med.jsonl"
    docs = [t + f"第{i}次复诊。" for i, t in enumerate(MED * 5)]
    corpus.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in docs), encoding="utf-8")
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        analyze(AnalyzeConfig(corpus=(str(corpus),), tokenizer=str(tokenizer), out=str(out), workers=workers,
                              min_freq=2, shard_chars=200))
        outs.append([(out / name).read_bytes() for name in ("terms.tsv", "report.json")])
    assert outs[0] == outs[1]
