"""The compiled kernels (`vocabx/analyze/_kernels.c`, the only implementation of analyze's inner loops) against
brute-force Python: n-gram tables against Counters of every substring, span grouping against Counters, the GPT-2
pre-tokenizer against its regex, token counts against `encode_batch`."""

from __future__ import annotations

from collections import Counter
from itertools import chain

import numpy as np
import pytest
import regex

from vocabx.analyze import kernels

WORDS = ["高血压", "患者", "糖尿病", "肝炎", "血压", "病患", "高血", "尿病", "治疗", "服药", "注意", "饮食", "的", "，", "。"]


def _texts(seed: int, docs: int = 60) -> tuple[list[str], list[list[str]]]:
    """Random documents of dictionary words (with punctuation and the odd Latin word), and their segmentation."""
    rng = np.random.default_rng(seed)
    pieces = [[str(w) for w in rng.choice(WORDS + ["CT", " "], int(rng.integers(3, 40)))] for _ in range(docs)]
    return ["".join(p) for p in pieces], pieces


@pytest.mark.parametrize(("seed", "max_n", "prune"), [(0, 4, 1), (1, 7, 2), (2, 9, 3)])
def test_substring_counter_equals_brute_force(seed, max_n, prune):
    """Every Han substring of 2..max_n characters seen `prune` times: its count, document frequency and aligned
    count equal a brute-force count over the runs (pruning is exact for what it keeps in one shard)."""
    from vocabx.analyze.ngrams import count_ngrams

    texts, pieces = _texts(seed)
    lengths = [n for ws in pieces for n in [*map(len, ws), 1]]
    table = count_ngrams(texts, max_n, prune, lengths).tables
    bounds = set(np.cumsum([0, *lengths]).tolist())  # word starts in the texts joined by newlines
    offsets = np.cumsum([0] + [len(t) + 1 for t in texts]).tolist()
    for n in range(2, max_n + 1):
        count, docs, aligned = Counter(), Counter(), Counter()
        for d, text in enumerate(texts):
            for run in regex.finditer(r"\p{Han}+", text):
                for i in range(run.start(), run.end() - n + 1):
                    gram = text[i : i + n]
                    count[gram] += 1
                    aligned[gram] += (offsets[d] + i) in bounds and (offsets[d] + i + n) in bounds
            docs.update({text[i : i + n] for r in regex.finditer(r"\p{Han}+", text) for i in range(r.start(), r.end() - n + 1)})
        expected = {g for g, c in count.items() if c >= prune}
        got = table[n].strings(np.arange(len(table[n].keys)))
        assert set(got) == expected, n
        for i, gram in enumerate(got):
            assert (table[n].counts[i], table[n].doc_freq[i], table[n].aligned[i]) == (count[gram], docs[gram],
                                                                                        aligned[gram]), gram


def test_span_counts_equal_counters():
    """Spans grouped by the kernel (`group_spans`) give what Counters give, in first-seen order."""
    from vocabx.analyze.spans import count_spans

    texts, pieces = _texts(4)
    joined = "\n".join(texts) + "\n"
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    words = [w for ws in pieces for w in ws]
    lengths = [n for ws in pieces for n in [*map(len, ws), 1]]
    ends = np.cumsum(lengths)
    is_word = np.array([k for ws in pieces for k in [True] * len(ws) + [False]])
    starts = (ends - lengths)[is_word]
    doc = np.repeat(np.arange(len(texts)), [len(t) + 1 for t in texts])[starts]
    counts, docs = count_spans(joined, cps, starts, ends[is_word], doc)
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
    tiling = scan.segment(texts)
    assert tiling[1].tolist() == [len(p) for ps in pieces for p in ps]
    tiled = scan.count_tiled(texts, *tiling, job)
    scan._scan_words(plain, texts, pieces, job)
    assert list(tiled.words.items()) == list(plain.words.items())
    assert tiled.word_docs == plain.word_docs
    assert list(tiled.runs.items()) == list(plain.runs.items()) and tiled.run_han_chars == plain.run_han_chars
    for n, table in plain.ngrams.tables.items():
        np.testing.assert_array_equal(tiled.ngrams.tables[n].counts, table.counts)
        np.testing.assert_array_equal(tiled.ngrams.tables[n].aligned, table.aligned)


def test_kernels_take_empty_inputs():
    """No Han text: empty tables, no failure."""
    from vocabx.analyze.ngrams import count_ngrams

    counts = count_ngrams(["no han here", ""], 4, 2)
    assert counts.positions == 0 and all(len(counts.tables[n].keys) == 0 for n in (2, 3, 4))


def test_distinct_pieces_equal_counters():
    from vocabx.analyze.tokencount import TokenCounter

    texts, _ = _texts(9)
    joined = "".join(texts)
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    cuts = np.unique(np.concatenate([[0, len(cps)], np.random.default_rng(0).integers(0, len(cps), 400)]))
    distinct, inverse, counts = TokenCounter._distinct(joined, cps, cuts)
    pieces = [joined[a:b] for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist())]
    assert [distinct[i] for i in inverse.tolist()] == pieces
    assert dict(zip(distinct, counts.tolist())) == Counter(pieces) and distinct == list(dict.fromkeys(pieces))


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


def _random_texts(rng, count: int) -> list[str]:
    alphabet = [*"ab sS't ", "  ", "\t", "\n", "\r\n", "\u3000", "\u00a0", "1", "23", "高", "血压", "患者", "，", "!",
                "é", "\u200b", "▁", "<s>", "😀", "𠀀", "the", "patient", "pressure"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(count)]


def test_plain_sentencepiece_count_equals_encode(plain_sp, tiny_sp):
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
