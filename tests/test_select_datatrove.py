"""`vocabx select --engine datatrove`: the same rules and relevance model as datatrove pipeline steps on its local
executor, with datatrove's own MinHash deduplication: the same documents as the local engine on the generated pool,
and the steps work on their own in a datatrove pipeline."""

from __future__ import annotations

import json

import pytest

from tests._select_pool import read_jsonl, run
from vocabx.select import SelectConfig, select_documents

pytest.importorskip("datatrove")
pytest.importorskip("orjson")


@pytest.mark.slow
def test_datatrove_engine_selects_what_the_local_engine_selects(pool, tmp_path) -> None:
    _, local = run(pool, tmp_path / "local")
    cfg = SelectConfig(pool=tuple(str(f) for f in pool["files"]), domain=(str(pool["sample"]),),
                       out=str(tmp_path / "dt"), workers=2, reference_docs=400, engine="datatrove", replay_share=0.2)
    report = select_documents(cfg)
    rows = read_jsonl(tmp_path / "dt" / "domain.jsonl")
    assert {r["text"] for r in rows} == {r["text"] for r in local}
    assert {r["source"] for r in rows} == {r["source"] for r in local}
    docs = report["outcomes"]["docs"]
    assert docs["near_duplicate"] == 10 and docs["candidate"] == len(rows) and report["engine"] == "datatrove"
    assert {"repeated_lines", "mojibake", "language", "general"} <= set(docs)
    assert (tmp_path / "dt" / "replay.jsonl").stat().st_size > 0
    assert not [p.name for p in (tmp_path / "dt").iterdir() if p.name.startswith(".")]


def test_vocabx_steps_in_a_datatrove_pipeline(pool, tmp_path) -> None:
    """The filters are ordinary datatrove steps: a LocalPipelineExecutor runs them between datatrove's own reader
    and writer."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    from vocabx.select.calibrate import calibrate
    from vocabx.select.datatrove_engine import _steps
    from vocabx.select.quality import QualityRules
    from vocabx.select.relevance import NgramLearner

    _, quality, relevance, _ = _steps()
    sample = [r["text"] for r in read_jsonl(pool["sample"])]
    reference = [r["text"] for f in pool["files"] for r in read_jsonl(f)]
    cal = calibrate(NgramLearner(bits=16), sample, reference, seed=1)
    rules = QualityRules(scripts=frozenset({"han"}))
    out = tmp_path / "out"
    LocalPipelineExecutor([JsonlReader(str(pool["dir"]), glob_pattern="[ab].jsonl"), quality(rules),
                           relevance(cal.scorer, cal.threshold), quality(rules, costly=True),
                           JsonlWriter(str(out), output_filename="${rank}.jsonl", compression=None)],
                          tasks=1, logging_dir=str(tmp_path / "logs")).run()
    kept = {r["text"] for r in read_jsonl(out / "00000.jsonl")}
    assert kept and kept <= pool["medical"] | pool["copies"]
    stats = json.loads((tmp_path / "logs" / "stats.json").read_text())
    assert any("dropped_general" in step["stats"] for step in stats)
