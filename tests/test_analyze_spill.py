"""Shard texts and results through files (`vocabx.analyze.spill`): what comes back equals what went out, the
files are gone afterwards, and without a usable directory everything still travels through the pipes."""

from __future__ import annotations

import os
from collections import Counter

import numpy as np
import pytest

from vocabx.analyze import scan
from vocabx.analyze.spill import Spilled, Texts, load, send

DOCS = ["高血压患者\n注意饮食", "", "CT值 😀 正常", "糖尿病"]


def test_results_come_back_equal_and_writable(tmp_path):
    obj = {"keys": np.arange(10, dtype=np.uint64) * 7, "chars": np.ones((3, 4), np.uint32), "words": Counter("高血压高"),
           "n": 3, "empty": np.zeros(0, np.int64)}
    sent = send(obj, str(tmp_path))
    assert isinstance(sent, Spilled) and os.path.exists(sent.path)
    back = load(sent)
    assert not os.path.exists(sent.path)  # read once, then removed
    assert back["words"] == obj["words"] and back["n"] == 3 and back["empty"].dtype == np.int64
    for name in ("keys", "chars"):
        np.testing.assert_array_equal(back[name], obj[name])
        assert back[name].dtype == obj[name].dtype and back[name].flags.writeable
        assert back[name].ctypes.data % 8 == 0  # aligned in the file's buffer
    back["keys"][0] = 1  # arrays may be updated in place, as the originals could


def test_without_a_directory_results_travel_as_they_are(tmp_path):
    obj = {"a": np.arange(3)}
    assert send(obj, None) is obj and load(obj) is obj
    missing = str(tmp_path / "gone")  # cannot be written: the object itself goes back
    assert send(obj, missing) is obj


@pytest.mark.parametrize("stored", [True, False])
def test_texts_parts_and_joins(tmp_path, stored):
    texts = Texts.store(DOCS, str(tmp_path) if stored else None)
    assert (texts.path is not None) == stored
    assert texts.texts() == DOCS and texts.doc_lengths() == [len(d) for d in DOCS] and len(texts) == 4
    assert texts.part(1, 3).texts() == DOCS[1:3] and texts.part(2, 4).part(1, 2).texts() == DOCS[3:]
    joined, cps = texts.part(2, 4).joined()
    assert joined == "CT值 😀 正常\n糖尿病\n" and cps.tolist() == [ord(ch) for ch in joined]
    texts.release()
    assert not list(tmp_path.iterdir())


def test_pool_scan_leaves_no_files_and_works_without_them(tmp_path, monkeypatch):
    """Two workers through a spill directory, then with none to be had: the same counts; the directory is gone."""
    job = scan.ScanJob("zh", 4, 1)
    shards = [DOCS * 3, DOCS[::-1] * 2, DOCS]
    made = []

    def spill_dir():
        path = tmp_path / f"spill{len(made)}"
        path.mkdir()
        made.append(path)
        return str(path)

    monkeypatch.setattr(scan, "spill_dir", spill_dir)
    through_files = scan.run_scan(iter(shards), job, 2, run_cap=10**9)
    assert made and not any(p.exists() for p in made)

    def no_dir():
        raise OSError("no temporary directory")

    monkeypatch.setattr(scan, "spill_dir", no_dir)
    through_pipes = scan.run_scan(iter(shards), job, 2, run_cap=10**9)
    one = scan.run_scan(iter(shards), job, 1, run_cap=10**9)
    everything = [d for shard in shards for d in shard]
    assert (one.chars, one.bytes) == (sum(map(len, everything)), len("".join(everything).encode("utf-8")))
    for result in (through_files, through_pipes):
        assert list(result.words.items()) == list(one.words.items()) and result.runs == one.runs
        assert (result.documents, result.chars, result.bytes) == (one.documents, one.chars, one.bytes)
        for n, table in one.ngrams.tables.items():
            np.testing.assert_array_equal(result.ngrams.tables[n].counts, table.counts)


def test_a_failing_segmentation_task_raises_instead_of_hanging(monkeypatch):
    """The tokenizer hook waits for the first shard's count to be handed out; a segmentation that raises (in a
    counting task) must release that wait, and
    the error must reach the caller."""
    import threading

    real = scan.segment

    def segment(texts):
        if any("糖尿病" in text for text in (texts.texts() if isinstance(texts, Texts) else texts)):
            raise RuntimeError("segmenter broke")
        return real(texts)

    monkeypatch.setattr(scan, "segment", segment)  # the forked workers inherit it
    outcome = {}

    def run():
        try:
            scan.run_scan(iter([DOCS * 3, DOCS]), scan.ScanJob("zh", 4, 1), 2, run_cap=10**9,
                          while_waiting=lambda: outcome.setdefault("hook", True))
        except RuntimeError as exc:
            outcome["error"] = str(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive() and outcome == {"hook": True, "error": "segmenter broke"}
