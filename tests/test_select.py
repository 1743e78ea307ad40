"""`vocabx select` as a library: quality rules, the n-gram relevance model and its calibration, MinHash signatures
(the same values as datasketch's own update), deduplication, balance, and a whole selection on a small generated
pool whose truth is known."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from tests._select_pool import GENERAL, MEDICAL, doc, read_jsonl, run, write_jsonl
from vocabx.errors import CorpusError, OutputError, UsageError
from vocabx.select import SelectConfig, select_documents
from vocabx.select.balance import Candidates, choose, choose_replay
from vocabx.select.calibrate import calibrate
from vocabx.select.dedup import SLAB, Deduplicator, MinHasher, exact_key, lsh_params
from vocabx.select.quality import QualityRules, dominant_scripts
from vocabx.select.relevance import NgramLearner, normalized_keep
from vocabx.select.textbatch import TextBatch, repeated_share

# --- inputs


def test_a_pool_input_names_its_own_text_field(tmp_path) -> None:
    """--text-field holds for every pool input; `[NAME=]SPEC#FIELD` gives one its own (the label leaves it out)."""
    from vocabx.select.inputs import open_pool

    path = tmp_path / "p.jsonl"
    path.write_text('{"body": "alpha", "text": "x"}\n{"body": "beta", "text": "y"}\n', encoding="utf-8")
    inputs, units = open_pool([f"news={path}#body", f"{path}#body", str(path)], "text", False, tmp_path)
    assert [i.label for i in inputs] == ["news", "p", "p-2"]
    assert [list(u.corpus.texts()) for u in units] == [["alpha", "beta"], ["alpha", "beta"], ["x", "y"]]


# --- rules, one at a time, on documents small enough to check by hand


def test_quality_rules_name_the_first_rule_broken() -> None:
    rules = QualityRules(min_chars=10, scripts=frozenset({"han"}))
    texts = ["短", "高血压患者应当按时服药，定期复查血压。", "The patient should take the drug daily.",
             "高血压患者".encode().decode("latin-1") * 3, "★★★★★高血压★★★★★患者★★★★★",
             "高血压患者应当按时服药\n高血压患者应当按时服药\n高血压患者应当按时服药", "？？？？。。。。，，，，！！"]
    assert rules.check(TextBatch(texts)) == [
        "too_short", None, "language", "mojibake", "symbols", "repeated_lines", "symbols"]
    costly = rules.check_costly(TextBatch(["治疗" * 30, "高血压的治疗方法很多\n版权所有 保留所有权利 联系我们", "高血压"]))
    assert costly == ["repeated_ngrams", "boilerplate", None]


def test_repeated_share_by_hand_and_scripts_of_a_sample() -> None:
    b = TextBatch(["abab", "abcd", ""])
    assert repeated_share(*b.ngram_hashes(2), 3).round(3).tolist() == [0.333, 0.0, 0.0]  # ab ba [ab]
    assert dominant_scripts(TextBatch(["高血压 patient", "高血压患者"])) == frozenset({"han", "latin"})
    assert dominant_scripts(TextBatch(["高血压患者都要注意饮食 a"])) == frozenset({"han"})  # 1 of 12 letters


def test_ngram_relevance_separates_and_calibrates(pool) -> None:
    rng = random.Random(5)
    sample = [doc(MEDICAL, rng) for _ in range(40)]
    reference = [doc(GENERAL, rng) for _ in range(200)] + [doc(MEDICAL, rng) for _ in range(20)]
    cal = calibrate(NgramLearner(bits=16), sample, reference, seed=1)
    scores = cal.scorer.score(TextBatch([doc(MEDICAL, rng), doc(GENERAL, rng)]))
    assert scores[0] > cal.threshold > scores[1]
    assert cal.reference_general <= 200 + 2  # the medical part of the reference was set aside before refitting
    assert cal.heldout_recall == 1.0 and cal.reference_pass < 0.02
    assert cal.general_q99 < cal.threshold < cal.heldout_q01
    fixed = calibrate(NgramLearner(bits=16), sample, reference, seed=1, threshold=0.5)
    assert fixed.threshold == 0.5


def test_minhash_signatures_are_datasketchs() -> None:
    """Batch signatures equal datasketch's MinHash of each document's shingles, across slab boundaries (a long
    document), for a document without content characters, and for rows asked in any order."""
    datasketch = pytest.importorskip("datasketch")
    rng = random.Random(3)
    long_doc = "".join(rng.choice("高血压患者应当按时服药定期复查糖尿病肾功能") for _ in range(3 * SLAB))
    texts = ["高血压患者应当按时服药定期复查血压", "the patient should take the drug", "，。！？", long_doc, "abcdef"]
    batch = TextBatch(texts)
    rows = [3, 0, 2, 1]
    signatures = MinHasher().signatures(batch, rows)
    hashes, docs = batch.ngram_hashes(5, normalized_keep(batch), fold_case=True)
    for k, row in enumerate(rows):
        m = datasketch.MinHash(num_perm=128, seed=1, hashfunc=int, scheme="affine32")
        m.update_batch(np.unique((hashes[docs == row] >> np.uint64(32)).astype(np.uint32)).tolist())
        assert np.array_equal(signatures[k], m.hashvalues), row


def test_lsh_bands_are_datasketchs() -> None:
    """The same (bands, rows) as datasketch's MinHashLSH, and the same candidates for every query."""
    datasketch = pytest.importorskip("datasketch")
    for threshold in (0.3, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9):
        lsh = datasketch.MinHashLSH(threshold=threshold, num_perm=128)
        assert lsh_params(threshold, 128) == (lsh.b, lsh.r), threshold
    rng = random.Random(5)
    words = ["高血压", "患者", "服药", "复查", "糖尿病", "血糖", "胰岛素", "饮食", "运动", "肾功能", "眼底", "医生", "检查", "治疗"]
    originals = ["".join(rng.choice(words) for _ in range(30)) for _ in range(40)]
    texts = originals + [t[: rng.randrange(10, 60)] + "嗯" + t[60:] for t in originals[:20]]
    hasher = MinHasher(0.7)
    sketches = hasher.sketch(TextBatch(texts), list(range(len(texts))))
    dedup = Deduplicator(hasher)
    lsh = datasketch.MinHashLSH(threshold=0.5, num_perm=128)
    for i, (signature, keys) in sketches.items():
        lean = datasketch.LeanMinHash(seed=1, hashvalues=signature, scheme="affine32")
        assert dedup.candidates(keys) == sorted(int(k) for k in lsh.query(lean)), i
        if dedup.near_duplicate_of((signature, keys)) is None:
            lsh.insert(str(dedup.kept - 1), lean)
    assert dedup.kept < len(texts)


def test_deduplicator_keeps_the_first_of_a_group() -> None:
    texts = ["高血压患者应当按时服药，定期复查血压，注意饮食清淡，少吃盐，多运动，保持心情舒畅，戒烟限酒。" * 2,
             "【转载】高血压患者应当按时服药，定期复查血压，注意饮食清淡，少吃盐，多运动，保持心情舒畅，戒烟限酒。" * 2,
             "糖尿病患者需要监测血糖，按医嘱注射胰岛素，控制主食，规律作息，定期检查眼底和肾功能。" * 2]
    hasher = MinHasher(0.7)
    sketches = hasher.sketch(TextBatch(texts), [0, 1, 2])
    dedup = Deduplicator(hasher)
    assert [dedup.near_duplicate_of(sketches[i]) for i in range(3)] == [None, 0, None]
    assert dedup.kept == 2
    assert not dedup.exact_seen(exact_key("a  b")) and dedup.exact_seen(exact_key(" a b\n"))


def test_balance_budget_cap_and_replay() -> None:
    c = Candidates()
    for score, chars, pool in [(3.0, 50, 0), (2.0, 40, 0), (1.0, 30, 1), (0.5, 20, 1)]:
        c.add(score, chars, pool)
    keep, counts = choose(c, 2, budget=100, share=None)
    assert keep.tolist() == [True, True, False, False] and counts["budget_cut_docs"] == 2
    keep, counts = choose(c, 2, budget=None, share=0.5)  # input 0 may give at most half: 50 of 100
    assert keep.tolist() == [True, False, True, True] and counts["source_cap_cut_chars"] == 40
    with pytest.raises(UsageError, match="cannot be met"):
        choose(c, 2, budget=None, share=0.3)
    from array import array

    sizes = array("q", [10] * 100)
    picked = choose_replay(sizes, domain_chars=400, share=0.2, seed=0)
    assert int(picked.sum()) == 10  # 0.2 / 0.8 of 400 characters = 100 characters of general text


# --- a whole selection


def test_select_end_to_end(pool, tmp_path) -> None:
    report, rows = run(pool, tmp_path / "out", replay_share=0.2)
    chosen = {r["text"] for r in rows}
    assert chosen <= pool["medical"]  # nothing general, no copy, no junk
    assert len(chosen) >= 0.95 * len(pool["medical"] - {m for m in pool["medical"] if m[:20] in
                                                          {j[:20] for j in pool["junk"]}})
    assert not chosen & pool["copies"] and not chosen & pool["junk"]
    docs = report["outcomes"]["docs"]
    assert docs["near_duplicate"] == 10 and docs["candidate"] == len(rows) == report["selected_docs"]
    pairs = (tmp_path / "out" / "near_duplicates.tsv").read_text(encoding="utf-8").split("\n")
    assert pairs[0] == "removed\tkept" and len([p for p in pairs[1:] if p]) == 10
    assert sum(docs.values()) == report["outcomes"]["read"]["docs"] == 120 + 240 + 60 + 10 + 4
    assert {"repeated_lines", "mojibake", "language"} <= set(docs)
    replay = read_jsonl(tmp_path / "out" / "replay.jsonl")
    replay_chars = sum(len(r["text"]) for r in replay)
    assert abs(replay_chars / (replay_chars + report["selected_chars"]) - 0.2) < 0.02
    assert not {r["text"] for r in replay} & pool["medical"]
    assert {r["pool"] for r in rows} == {"a", "b"} and all(r["source"].endswith(tuple("0123456789")) for r in rows)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["command"] == "select" and manifest["counts"]["selected_docs"] == len(rows)
    assert not [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no spill left behind


def test_two_workers_give_the_same_selection(pool, tmp_path) -> None:
    _, one = run(pool, tmp_path / "one")
    cfg = SelectConfig(pool=tuple(str(f) for f in pool["files"]), domain=(str(pool["sample"]),),
                       out=str(tmp_path / "two"), workers=2, reference_docs=400)
    select_documents(cfg)
    two = read_jsonl(tmp_path / "two" / "domain.jsonl")
    assert one == two


def test_budget_takes_the_best_scores(pool, tmp_path) -> None:
    report, rows = run(pool, tmp_path / "out", budget_chars=2000)
    assert 2000 - 80 < sum(len(r["text"]) for r in rows) <= 2000
    full, all_rows = run(pool, tmp_path / "all")
    best = sorted((r["score"] for r in all_rows), reverse=True)[: len(rows)]
    assert sorted(r["score"] for r in rows) == sorted(best)
    assert report["balance"]["budget_cut_docs"] == len(all_rows) - len(rows)


# --- bad input: one error, nothing written


def test_pool_without_the_domain_writes_nothing(pool, tmp_path) -> None:
    rng = random.Random(9)
    general = write_jsonl(tmp_path / "general.jsonl", [doc(GENERAL, rng) for _ in range(200)])
    out = tmp_path / "out"
    cfg = SelectConfig(pool=(str(general),), domain=(str(pool["sample"]),), out=str(out), workers=1)
    with pytest.raises(CorpusError, match="no document of the pool .* was selected as domain"):
        select_documents(cfg)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["general.jsonl"]


def test_small_sample_names_the_minimum(pool, tmp_path) -> None:
    small = write_jsonl(tmp_path / "small.jsonl", [doc(MEDICAL, random.Random(1)) for _ in range(12)])
    cfg = SelectConfig(pool=(str(pool["files"][0]),), domain=(str(small),), out=str(tmp_path / "out"), workers=1)
    with pytest.raises(CorpusError, match="has 12 documents .* at least 30 documents"):
        select_documents(cfg)
    assert not (tmp_path / "out").exists()


def test_bad_records_are_counted_or_stop(pool, tmp_path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(pool["files"][0].read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    cfg = dict(pool=(str(bad),), domain=(str(pool["sample"]),), workers=1, reference_docs=400)
    with pytest.raises(CorpusError, match="skip-bad-records"):
        select_documents(SelectConfig(out=str(tmp_path / "stop"), **cfg))
    assert not (tmp_path / "stop").exists()
    report = select_documents(SelectConfig(out=str(tmp_path / "skip"), skip_bad_records=True, **cfg))
    assert report["pool"][0]["skipped"] == {"malformed_json": 1}


def test_existing_out_is_refused(pool, tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="already exists"):
        run(pool, out)
    assert (out / "keep.txt").read_text() == "mine"


def test_config_errors_name_the_flag() -> None:
    with pytest.raises(UsageError, match="no domain sample"):
        SelectConfig(pool=("p",), out="o")
    with pytest.raises(UsageError, match="unknown writing system"):
        SelectConfig(pool=("p",), domain=("d",), out="o", scripts="han,klingon")
    with pytest.raises(UsageError, match="replay_share"):
        SelectConfig(pool=("p",), domain=("d",), out="o", replay_share=1.0)


def test_peak_memory_is_the_process_own_not_its_parents() -> None:
    """Linux carries ru_maxrss across exec: a selection started from a large process must not report the parent's
    peak as its own (report.json's peak_rss_mb)."""
    import subprocess
    import sys

    parent = bytearray(400 * 1024 * 1024)
    parent[:: 4096] = b"\x01" * len(parent[:: 4096])  # touch every page, so the parent's RSS really is 400 MB
    out = subprocess.run([sys.executable, "-c", "from vocabx.select.report import peak_rss_mb; print(peak_rss_mb())"],
                         capture_output=True, text=True, check=True)
    assert float(out.stdout) < 300, out.stdout
    del parent
