"""The compiled jieba (`vocabx.analyze.jiebacut`) against jieba itself: the same pieces with and without the HMM, on
the shared corpora and on generated text full of the cases its rules single out (number ranges, decimals,
percentages, Latin words, "\\r\\n", every Unicode space, characters outside its blocks); its cache; the dictionary-only
cuts that candidate scoring uses; and the smaller kernels of the same change (span hash tables, hash index lookups,
UTF-8 validity of byte-level tokens)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from tests.conftest_shared import SHARED
from vocabx.analyze import jiebacut, kernels

pytestmark = pytest.mark.skipif(kernels._compiled is None, reason="compiled kernels not built (no C compiler)")
jieba = pytest.importorskip("jieba")
jieba.setLogLevel(60)

# Pieces jieba's rules treat differently: the symbols its blocks include, number ranges, decimals, percentages, Latin
# words, punctuation, spaces of several kinds, Han outside its range, a supplementary-plane ideograph, a lone surrogate.
EXTRA = ["90-140", "3.5", "12.5%", "COVID-19", "维生素B12", "a.b%c", "\r\n", "\r", "\n", " ", "\t", "\u3000", "\xa0",
         "\u2028", "\x1c", "\x85", "+#&._%-", "，", "。", "！", "（", "）", "CT", "mg", "100mL", "ｍｇ", "１２", "é", "😀",
         "\u3400", "\u9fd6", "\u9fff", "\U00020000", "\ud800", "哈哈哈", "β", "α-", "..", "--", "%%"]


def _random_texts(seed: int, count: int) -> list[str]:
    """Dictionary words (so that the route has choices), random Han characters (unknown words for the HMM) and the
    pieces above, strung together."""
    from vocabx.errors import package_dir

    lines = (package_dir("jieba", "test") / "dict.txt").read_text(encoding="utf-8").splitlines()
    words = [line.split(" ")[0] for line in lines[::37]]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        parts = []
        for _ in range(int(rng.integers(1, 40))):
            pick = rng.random()
            if pick < 0.5:
                parts.append(words[int(rng.integers(0, len(words)))])
            elif pick < 0.75:
                parts.append("".join(chr(int(c)) for c in rng.integers(0x4E00, 0x9FD6, int(rng.integers(1, 5)))))
            else:
                parts.append(EXTRA[int(rng.integers(0, len(EXTRA)))])
        out.append("".join(parts))
    return out


@pytest.fixture(scope="module")
def model():
    found = jiebacut.jieba_model()
    assert found is not None
    jieba.initialize()
    return found


@pytest.mark.parametrize("hmm", [True, False])
def test_generated_text_cuts_as_jieba_does(model, hmm):
    """Random text of dictionary words and Han characters mixed with every case jieba's rules single out."""
    texts = _random_texts(0 if hmm else 1, 3000)
    for text in texts:
        assert model.cut(text, hmm) == jieba.lcut(text, HMM=hmm), text


def _shared_texts() -> list[str]:
    texts = []
    dialogues = SHARED / "corpora" / "medical-zh" / "dialogues.csv"
    news = SHARED / "corpora" / "general-zh" / "tnews_unlabeled.json"
    legal = SHARED / "corpora" / "legal-zh" / "刑法" / "刑法.md"
    if not (dialogues.is_file() and news.is_file() and legal.is_file()):
        pytest.skip(f"shared data not found at {SHARED}")
    import csv

    with open(dialogues, encoding="utf-8", errors="replace") as fh:
        texts += [f"{r['title']}\n{r['ask']}\n{r['answer']}" for r, _ in zip(csv.DictReader(fh), range(1500))]
    with open(news, encoding="utf-8") as fh:
        texts += [json.loads(line)["sentence"] for line, _ in zip(fh, range(3000))]
    texts += legal.read_text(encoding="utf-8").split("\n\n")[:1500]
    return texts


@pytest.mark.parametrize("hmm", [True, False])
def test_shared_corpora_cut_as_jieba_does(model, hmm):
    """Medical dialogues (with their number ranges), news headlines and a statute, document by document."""
    for text in _shared_texts():
        assert model.cut(text, hmm) == jieba.lcut(text, HMM=hmm), text[:200]


def test_documents_are_cut_apart(model):
    """`cut_lengths` cuts each document on its own (a "\\r" ending one never joins the "\\n" that follows it in the
    buffer), and its pieces tile every document."""
    texts = ["第一行\r", "\n第二行", "", "高血压患者", "90-140mmHg"]
    joined = "\n".join(texts) + "\n"
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    lengths = np.array([len(t) for t in texts])
    counts, pieces = model.cut_lengths(cps, np.cumsum(lengths + 1) - (lengths + 1), lengths)
    assert counts.tolist() == [len(jieba.lcut(t)) for t in texts]
    assert pieces.tolist() == [len(p) for t in texts for p in jieba.lcut(t)]
    with pytest.raises(ValueError, match="inconsistent"):
        model.cut_lengths(cps, np.array([0]), np.array([len(cps) + 1]))


def test_dictionary_only_cuts_of_terms(model, monkeypatch):
    """The candidate cuts (no HMM) are jieba's, terms holding a line break included."""
    from vocabx.analyze.segment import cuts_without_hmm

    terms = ["高血压患者", "CT值", "COVID-19", " 空格 在前", "法对", "维生素B12", "。，", "a.b%c", "糖尿病肾病", ""]
    assert cuts_without_hmm(terms) == {t: jieba.lcut(t, HMM=False) for t in terms}
    broken = ["高血压\n患者", "血压"]
    assert cuts_without_hmm(broken) == {t: jieba.lcut(t, HMM=False) for t in broken}


def test_model_cache_is_reused_and_rebuilt_when_unreadable(monkeypatch, tmp_path):
    """The first load writes the cache, the next reads it (jieba's HMM tables are not imported again), and an
    unreadable cache is rebuilt."""
    from vocabx.errors import package_dir

    monkeypatch.setenv("VOCABX_CACHE", str(tmp_path))
    package = package_dir("jieba", "test")
    built = jiebacut._cached_model(package)
    files = sorted(p.name for p in (tmp_path / "analyze").iterdir())
    assert len(files) == 2 and files[0].endswith(".npz") and files[1].endswith(".slots.npy")
    monkeypatch.delitem(sys.modules, "jieba.finalseg.prob_emit", raising=False)
    loaded = jiebacut._cached_model(package)
    assert "jieba.finalseg.prob_emit" not in sys.modules
    assert loaded.cut("高血压患者在医院就诊") == built.cut("高血压患者在医院就诊") == jieba.lcut("高血压患者在医院就诊")
    (tmp_path / "analyze" / files[0]).write_bytes(b"not a zip")
    assert jiebacut._cached_model(package).cut("糖尿病") == ["糖尿病"]


def test_utf8_validity_equals_python_decoding():
    """`utf8_replaced` says what `bytes.decode("utf-8", "replace")` says, on random segments rich in lead and
    continuation bytes and on U+FFFD itself."""
    from vocabx.analyze.pieces import utf8_replaced

    rng = np.random.default_rng(5)
    pool = np.array([*range(0x00, 0x80, 17), *range(0x80, 0x100)], dtype=np.uint8)
    segments = [bytes(rng.choice(pool, int(rng.integers(1, 6)))) for _ in range(20000)]
    segments += ["\ufffd".encode(), "a\ufffdb".encode(), "高".encode(), b"\xef\xbf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]
    data = np.frombuffer(b"".join(segments), dtype=np.uint8)
    owner = np.repeat(np.arange(len(segments)), [len(s) for s in segments])
    expected = ["\ufffd" in s.decode("utf-8", "replace") for s in segments]
    assert utf8_replaced(data, owner, len(segments)).tolist() == expected


@pytest.mark.parametrize("size", [0, 1, 50, 5000])
def test_hash_index_lookups_equal_a_dict(size):
    """The compiled lookup answers what a dict does: present keys (0 among them), absent ones, and keys crowded
    into shared slots (low bits equal, as the n-gram hashes of a common prefix are)."""
    from vocabx.analyze.ngrams import HashIndex

    rng = np.random.default_rng(size)
    keys = np.unique(np.concatenate([rng.integers(0, 2**63, size, dtype=np.uint64) * np.uint64(2),
                                     np.arange(min(size, 40), dtype=np.uint64) << np.uint64(40)]))
    keys = rng.permutation(keys)
    queries = np.concatenate([keys, rng.integers(0, 2**63, 3 * size + 5, dtype=np.uint64), np.zeros(3, np.uint64),
                              (np.arange(80, dtype=np.uint64) << np.uint64(40))])
    position = {int(k): i for i, k in enumerate(keys.tolist())}
    expected = [position.get(int(q), -1) for q in queries.tolist()]
    assert HashIndex(keys).lookup(queries).tolist() == expected


@pytest.mark.parametrize("spec", ["smollm2", "gguf/ggml-vocab-gpt-2.gguf", "gguf/ggml-vocab-falcon.gguf"])
def test_partial_utf8_flags_equal_decoding(spec):
    """On real byte-level vocabularies the vectorized flags are what decoding each id says."""
    from vocabx.adapters import load_tokenizer
    from vocabx.analyze.pieces import fallback_flags

    path = SHARED / "tokenizers" / spec
    if spec.startswith("gguf/") and not path.is_file():
        pytest.skip(f"shared data not found at {SHARED}")
    adapter = load_tokenizer(spec if spec == "smollm2" else str(path))
    flags, kind = fallback_flags(adapter)
    assert kind == "partial_utf8" and 100 < flags.sum() < len(flags) // 10
    assert flags.tolist() == ["\ufffd" in adapter.decode([i]) for i in range(adapter.vocab_size)]
