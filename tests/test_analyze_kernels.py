"""The compiled kernels (`vocabx/analyze/_kernels.c`) against the numpy code they replace: each must give the same
tables, occurrences, selections and projections (`VOCABX_NATIVE=0` selects the numpy path), and a whole `analyze`
run must write the same files either way. Also the span counting of the scan against plain Counters."""

from __future__ import annotations

import json
from collections import Counter
from itertools import chain

import numpy as np
import pytest

from tests.test_analyze import tiny_bpe, tiny_sp  # noqa: F401 (session fixtures: a BPE and a SentencePiece model)
from vocabx.analyze import kernels
from vocabx.analyze.occurrences import RunText

needs_kernels = pytest.mark.skipif(kernels._compiled is None, reason="compiled kernels not built (no C compiler)")

WORDS = ["高血压", "患者", "糖尿病", "肝炎", "血压", "病患", "高血", "尿病", "治疗", "服药", "注意", "饮食", "的", "，", "。"]


def _texts(seed: int, docs: int = 60) -> tuple[list[str], list[list[str]]]:
    """Random documents of dictionary words (with punctuation and the odd Latin word), and their segmentation."""
    rng = np.random.default_rng(seed)
    pieces = [[str(w) for w in rng.choice(WORDS + ["CT", " "], int(rng.integers(3, 40)))] for _ in range(docs)]
    return ["".join(p) for p in pieces], pieces


def _both(monkeypatch, fn):
    """fn() with the compiled kernels, then with numpy."""
    monkeypatch.setenv("VOCABX_NATIVE", "1")
    fast = fn()
    monkeypatch.setenv("VOCABX_NATIVE", "0")
    return fast, fn()


@needs_kernels
@pytest.mark.parametrize(("seed", "max_n", "prune"), [(0, 4, 1), (1, 7, 2), (2, 9, 3)])
def test_ngram_tables_equal_numpy(monkeypatch, seed, max_n, prune):
    from vocabx.analyze.ngrams import count_ngrams

    texts, pieces = _texts(seed)
    lengths = [n for ws in pieces for n in [*map(len, ws), 1]]
    fast, slow = _both(monkeypatch, lambda: count_ngrams(texts, max_n, prune, lengths))
    assert fast.tables.keys() == slow.tables.keys() and fast.positions == slow.positions
    for n, table in slow.tables.items():
        for name in ("keys", "counts", "doc_freq", "chars", "aligned"):
            np.testing.assert_array_equal(getattr(fast.tables[n], name), getattr(table, name), err_msg=f"{n} {name}")


@needs_kernels
def test_term_occurrences_equal_numpy(monkeypatch):
    texts, _ = _texts(3)
    runs = Counter(chain.from_iterable(__import__("regex").findall(r"\p{Han}+", t) for t in texts))
    text = RunText.build(dict(runs))
    terms = ["高血压", "血压", "患者", "高血压患者", "尿病患", "不在", "治疗服药注意饮食"]
    (pos, term), (pos0, term0) = _both(monkeypatch, lambda: text.matches(terms))
    assert len(pos) > 20
    np.testing.assert_array_equal(pos, pos0)
    np.testing.assert_array_equal(term, term0)


def _selection_inputs(seed: int):
    from vocabx.analyze.select import select

    texts, _ = _texts(seed)
    runs = Counter(chain.from_iterable(__import__("regex").findall(r"\p{Han}+", t) for t in texts))
    text = RunText.build(dict(runs))
    terms = sorted({w for w in WORDS if len(w) > 1} | {"高血压患者", "糖尿病患者", "治疗服药"})
    pos, term = text.matches(terms)
    lengths = np.array([len(t) for t in terms])
    char_cost = np.where(text.run_id >= 0, 3.0, 0.0)
    return lambda priority=None: select(pos, term, lengths, lengths * 3, np.ones(len(terms)), char_cost,
                                        text.weight, priority), len(terms)


@needs_kernels
@pytest.mark.parametrize("seed", [0, 5])
def test_priority_selection_equals_numpy(monkeypatch, seed):
    """With a fixed priority both paths place candidates one by one in effect: same order, gains and spans."""
    run, m = _selection_inputs(seed)
    priority = np.random.default_rng(seed).random(m)
    fast, slow = _both(monkeypatch, lambda: run(priority))
    np.testing.assert_array_equal(fast.order, slow.order)
    np.testing.assert_array_equal(fast.gain, slow.gain)
    for k in (1, 3, 7, m):
        assert fast.cover_at(k).starts.tolist() == slow.cover_at(k).starts.tolist()
        assert fast.cover_at(k).lengths.tolist() == slow.cover_at(k).lengths.tolist()


@needs_kernels
def test_greedy_selection_is_exact_greedy(monkeypatch):
    """The compiled greedy is lazy greedy: exact, so its gains never increase along the order, and it saves at
    least as much as the numpy rounds at every budget (they approximate the same greedy)."""
    run, _ = _selection_inputs(7)
    fast, slow = _both(monkeypatch, run)
    placed = fast.gain[fast.gain > 0]
    assert len(placed) > 5 and (np.diff(placed) <= 1e-9).all()
    assert sorted(fast.order.tolist()) == list(range(len(fast.order)))
    for k in (1, 2, 4, 8):
        assert fast.gain[:k].sum() >= 0.99 * slow.gain[:k].sum()


@needs_kernels
@pytest.mark.parametrize("name", ["tiny_sp", "tiny_bpe"])
def test_projection_equals_numpy(monkeypatch, name, request):
    from vocabx.analyze.fragmentation import Projector
    from vocabx.analyze.pieces import fallback_flags
    from vocabx.analyze.tokencount import TokenCounter

    adapter = request.getfixturevalue(name)
    counter = TokenCounter(adapter, fallback_flags(adapter)[0])
    run, m = _selection_inputs(11)
    sel = run(np.random.default_rng(1).random(m))
    texts, _ = _texts(11)
    runs = Counter(chain.from_iterable(__import__("regex").findall(r"\p{Han}+", t) for t in texts))
    text = RunText.build(dict(runs))

    def tokens():
        projector = Projector(text, counter)
        whole = np.zeros(len(projector.char_cost), dtype=bool)
        whole[::2] = True
        return (projector.han_tokens_at(sel, [0, 2, 5, m], [None, None, whole, whole]),
                projector.han_tokens_many([sel.cover_at(5)], [None]), projector.base_cost.tolist())

    fast, slow = _both(monkeypatch, tokens)
    assert fast == slow
    assert fast[0][0] > fast[0][-1]  # the terms save something


@pytest.mark.parametrize("path", ["native", "numpy"])
def test_span_counts_equal_counters(monkeypatch, path):
    """Both ways of counting spans (`group_spans` in C, hashes and sorts in numpy) give what Counters give."""
    from vocabx.analyze.spans import count_spans

    if path == "native" and kernels._compiled is None:
        pytest.skip("compiled kernels not built (no C compiler)")
    monkeypatch.setenv("VOCABX_NATIVE", "1" if path == "native" else "0")
    from vocabx.analyze.spans import span_hash_tables

    texts, pieces = _texts(4)
    joined = "\n".join(texts) + "\n"
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    words = [w for ws in pieces for w in ws]
    lengths = [n for ws in pieces for n in [*map(len, ws), 1]]
    ends = np.cumsum(lengths)
    is_word = np.array([k for ws in pieces for k in [True] * len(ws) + [False]])
    starts = (ends - lengths)[is_word]
    doc = np.repeat(np.arange(len(texts)), [len(t) + 1 for t in texts])[starts]
    counts, docs = count_spans(joined, cps, starts, ends[is_word], doc, span_hash_tables(cps))
    assert list(counts.items()) == list(Counter(words).items())  # same counts, same first-seen order
    assert docs == Counter(chain.from_iterable(map(set, pieces)))
    # overlapping spans without documents: every bigram of the text, counted as Counter counts them
    starts = np.arange(len(joined) - 1)
    counts, docs = count_spans(joined, cps, starts, starts + 2)
    assert list(counts.items()) == list(Counter(joined[i : i + 2] for i in starts.tolist()).items()) and not docs


def test_tiled_scan_equals_counter_scan():
    """The span-counting scan for jieba's tiling pieces gives what the Counter scan gives."""
    from vocabx.analyze import scan

    texts, _ = _texts(6)
    job = scan.ScanJob("zh", 5, 2)
    pieces = [scan.raw_words(t, "zh") for t in texts]
    plain = scan.ShardResult()
    tiling = scan._tiling(pieces, texts)
    assert tiling is not None and scan.segment(texts, "zh")[1].tolist() == tiling[1].tolist()
    tiled = scan.count_tiled(texts, *tiling, job)
    scan._scan_words(plain, texts, pieces, job)
    assert list(tiled.words.items()) == list(plain.words.items())
    assert tiled.word_docs == plain.word_docs
    assert list(tiled.runs.items()) == list(plain.runs.items()) and tiled.run_han_chars == plain.run_han_chars
    for n, table in plain.ngrams.tables.items():
        np.testing.assert_array_equal(tiled.ngrams.tables[n].counts, table.counts)
        np.testing.assert_array_equal(tiled.ngrams.tables[n].aligned, table.aligned)


@needs_kernels
def test_analyze_writes_the_same_files_either_way(monkeypatch, tmp_path, tiny_sp):  # noqa: F811
    """End to end: terms.tsv is byte-identical with and without the kernels, and so is report.json but for the segmenter
    named in the report (the kernels run jieba themselves; without them rjieba or jieba does, the same pieces on
    these texts)."""
    from vocabx.analyze import AnalyzeConfig, analyze

    texts, _ = _texts(8, docs=200)
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    model = tmp_path / "sp.model"
    model.write_bytes(tiny_sp.sp.serialized_model_proto())

    def run(label: str):
        out = tmp_path / label
        analyze(AnalyzeConfig(corpus=(str(corpus),), tokenizer=str(model), out=str(out), min_freq=2, workers=1))
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        return (out / "terms.tsv").read_bytes(), report.pop("segmenter"), report

    monkeypatch.setenv("VOCABX_NATIVE", "1")
    fast = run("fast")
    monkeypatch.setenv("VOCABX_NATIVE", "0")
    slow = run("slow")
    assert fast[0].count(b"\n") > 5
    assert fast[1] == "jieba-kernel" and slow[1] in ("rjieba", "jieba")
    assert fast[0] == slow[0] and fast[2] == slow[2]


def test_engine_names_the_path(monkeypatch):
    monkeypatch.setenv("VOCABX_NATIVE", "0")
    assert kernels.native() is None and kernels.engine() == "numpy"
    monkeypatch.setenv("VOCABX_NATIVE", "1")
    assert kernels.engine() == ("native" if kernels._compiled is not None else "numpy")


@needs_kernels
def test_kernels_take_empty_inputs(monkeypatch):
    """No Han text, no candidates, no occurrences: both paths agree on the empty results."""
    from vocabx.analyze.ngrams import count_ngrams
    from vocabx.analyze.select import select

    fast, slow = _both(monkeypatch, lambda: count_ngrams(["no han here", ""], 4, 2))
    assert fast.positions == slow.positions == 0
    assert all(len(fast.tables[n].keys) == len(slow.tables[n].keys) == 0 for n in (2, 3, 4))
    text = RunText.build({"高血压": 2})
    (pos, term), _ = _both(monkeypatch, lambda: text.matches(["糖尿病"]))
    assert len(pos) == len(term) == 0
    empty = np.zeros(0, np.int64)
    for priority in (None, np.zeros(0)):
        sel, sel0 = _both(monkeypatch, lambda p=priority: select(empty, empty, empty, empty, np.zeros(0),
                                                                 np.ones(4), np.ones(4), p))
        assert len(sel.order) == len(sel0.order) == 0 and sel.cover_at(5).starts.tolist() == []


@needs_kernels
def test_distinct_pieces_equal_numpy(monkeypatch):
    from vocabx.analyze.tokencount import TokenCounter

    texts, _ = _texts(9)
    joined = "".join(texts)
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    cuts = np.unique(np.concatenate([[0, len(cps)], np.random.default_rng(0).integers(0, len(cps), 400)]))
    fast, slow = _both(monkeypatch, lambda: TokenCounter._distinct(joined, cps, cuts))
    pieces = [joined[a:b] for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist())]
    for distinct, inverse, counts in (fast, slow):
        assert [distinct[i] for i in inverse.tolist()] == pieces
        assert dict(zip(distinct, counts.tolist())) == Counter(pieces)
    assert fast[0] == slow[0] == list(dict.fromkeys(pieces))  # both keep the order of first appearance


@needs_kernels
@pytest.mark.parametrize("digits", [0, 1, 2])
def test_gpt2_pretokenizer_equals_the_regex(digits):
    """The compiled GPT-2 pre-tokenizer (with no, individual or run Digits step before it) ends pre-tokens exactly
    where the `regex` emulation does, on random strings built from the pattern's corner cases."""
    import random

    from vocabx.analyze.segment import char_classes
    from vocabx.analyze.tokencount import CLASSES, GPT2_PATTERN, _isolating

    steps = [[], [_isolating(r"\p{N}")], [_isolating(r"\p{N}+")]][digits] + [_isolating(GPT2_PATTERN)]
    alphabet = [*"ab sS't'rel'dvm ", "  ", "\t", "\n", "\r\n", "\u3000", "\u00a0", "1", "23", "٣", "高", "血压", "，",
                "!", "?'", "''", "é", "\u200b", "x", "'ll", "'ve", "'re"]
    rng = random.Random(digits)
    for _ in range(400):
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(3)]
        expected, offset = [], 0
        for text in texts:
            pieces = [text]
            for step in steps:
                pieces = [q for p in pieces for q in step(p)]
            for piece in pieces:
                offset += len(piece)
                expected.append(offset)
        joined = "".join(texts)
        cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        ends = kernels.native().gpt2_pretokenize(cps, char_classes(cps, CLASSES), np.cumsum([len(t) for t in texts]),
                                                 digits)
        assert np.frombuffer(ends, dtype=np.int64).tolist() == expected, texts


@pytest.fixture(scope="module")
def plain_sp():
    """A SentencePiece BPE with Llama-2's normalization: identity, spaces kept, a dummy prefix, byte fallback."""
    import io

    import sentencepiece

    from tests.test_analyze import MED
    from vocabx.adapters import SentencePieceAdapter

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(MED * 5 + ["the patient has high blood pressure, isn't it?"] * 5), model_writer=model,
        vocab_size=320, model_type="bpe", hard_vocab_limit=False, byte_fallback=True, character_coverage=0.98,
        normalization_rule_name="identity", remove_extra_whitespaces=False, minloglevel=2)
    return SentencePieceAdapter(model.getvalue(), "plain-sp", "memory")


def _random_texts(rng, count: int) -> list[str]:
    alphabet = [*"ab sS't ", "  ", "\t", "\n", "\r\n", "\u3000", "\u00a0", "1", "23", "高", "血压", "患者", "，", "!",
                "é", "\u200b", "▁", "<s>", "😀", "𠀀", "the", "patient", "pressure"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(count)]


def test_plain_sentencepiece_count_equals_encode(plain_sp, tiny_sp):  # noqa: F811
    """Counting distinct cut pieces gives `encode_batch`'s totals for a plain model; a model with another
    normalizer (the NFKC default) is not treated as plain."""
    import random

    from vocabx.analyze.pieces import fallback_flags
    from vocabx.analyze.tokencount import TokenCounter

    flags = fallback_flags(plain_sp)[0]
    counter = TokenCounter(plain_sp, flags)
    assert counter.plain_sp and not TokenCounter(tiny_sp, fallback_flags(tiny_sp)[0]).plain_sp
    rng = random.Random(0)
    for _ in range(300):
        texts = _random_texts(rng, 3)
        ids = plain_sp.encode_batch(texts)
        assert counter.count(texts) == (sum(map(len, ids)), int(sum(flags[i].sum() for i in ids if i))), texts


@pytest.mark.slow
def test_plain_sentencepiece_count_is_exact_on_llama2():
    import csv
    import random

    from tests.conftest_shared import SHARED
    from vocabx.adapters import load_tokenizer
    from vocabx.analyze.pieces import fallback_flags
    from vocabx.analyze.tokencount import TokenCounter

    path, model = SHARED / "corpora" / "medical-zh" / "dialogues.csv", SHARED / "tokenizers" / "llama2" / "tokenizer.model"
    if not path.is_file() or not model.is_file():
        pytest.skip(f"shared data not found at {SHARED}")
    adapter = load_tokenizer(str(model))
    with open(path, encoding="utf-8", errors="replace") as fh:
        texts = [f"{r['title']}\n{r['ask']}\n{r['answer']}" for _, r in zip(range(500), csv.DictReader(fh))]
    texts += _random_texts(random.Random(1), 300)
    flags = fallback_flags(adapter)[0]
    counter = TokenCounter(adapter, flags)
    ids = adapter.encode_batch(texts)
    assert counter.plain_sp
    assert counter.count(texts) == (sum(map(len, ids)), int(sum(flags[i].sum() for i in ids if i)))
