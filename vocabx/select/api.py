"""`select_documents(config)`: from a mixed pool, the documents worth continued pretraining on. The stages, in order:

    read the domain sample and a reference sample  ->  fit and calibrate the relevance model
    stream the pool through the workers: quality rules, relevance score, exact key, MinHash signature
    in this process: exact duplicates, relevance threshold, near duplicates (LSH), spill candidates to disk
    balance (budget, per-input cap, replay share)  ->  domain.jsonl, replay.jsonl, report, manifest
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import IO, Any

import numpy as np

from vocabx.corpus import CorpusConfig, open_corpus
from vocabx.errors import CorpusError
from vocabx.outputs import MANIFEST_NAME, atomic_output_dir, build_manifest, check_output_dir, write_json
from vocabx.select.balance import Candidates, choose, choose_replay
from vocabx.select.calibrate import MIN_DOMAIN_CHARS, MIN_DOMAIN_DOCS, Calibrated, calibrate
from vocabx.select.config import SelectConfig
from vocabx.select.dedup import Deduplicator, MinHasher
from vocabx.select.inputs import (
    Chunk,
    PoolInput,
    Unit,
    UnitRead,
    corpus_flags,
    merge_samples,
    open_pool,
    read_sample,
    read_unit,
    reservoir,
)
from vocabx.select.ledger import Ledger
from vocabx.select.quality import QualityRules, dominant_scripts
from vocabx.select.relevance import Learner, NgramLearner
from vocabx.select.report import peak_rss_mb, render_markdown
from vocabx.select.scan import ScanJob, scan_chunks
from vocabx.select.textbatch import TextBatch

log = logging.getLogger(__name__)

DOMAIN_FILE, REPLAY_FILE = "domain.jsonl", "replay.jsonl"
SPILL_DOMAIN, SPILL_GENERAL = ".domain.candidates.jsonl", ".general.candidates.jsonl"
NEAR_FILE, NEAR_NOTE = "near_duplicates.tsv", "near duplicate of "
CHUNK_DOCS = 1024  # documents per second-pass task: enough for numpy to pay, few enough to keep both cores busy


def learner_for(cfg: SelectConfig) -> Learner:
    if cfg.scorer == "fasttext":
        from vocabx.select.fasttext_scorer import FastTextLearner

        return FastTextLearner(threads=max(1, _workers(cfg)), seed=cfg.seed)
    return NgramLearner()


def _workers(cfg: SelectConfig) -> int:
    return cfg.workers or min(8, os.cpu_count() or 1)


def check_sample(sample: list[str], specs: tuple[str, ...]) -> None:
    chars = sum(map(len, sample))
    if len(sample) < MIN_DOMAIN_DOCS or chars < MIN_DOMAIN_CHARS:
        raise CorpusError(
            f"the domain sample {', '.join(specs)} has {len(sample)} documents ({chars:,} characters); relevance needs "
            f"at least {MIN_DOMAIN_DOCS} documents and {MIN_DOMAIN_CHARS:,} characters to learn from",
            hint="pass more domain documents with --domain")


def rules_for(cfg: SelectConfig, sample: list[str]) -> QualityRules:
    return QualityRules(
        min_chars=cfg.min_chars, max_chars=cfg.max_chars, scripts=cfg.script_set(dominant_scripts(TextBatch(sample))),
        max_mojibake_share=cfg.max_mojibake_share, max_symbol_share=cfg.max_symbol_share,
        min_letter_share=cfg.min_letter_share, max_dup_line_share=cfg.max_dup_line_share,
        max_repeated_ngram_share=cfg.max_repeated_ngram_share, max_boilerplate_share=cfg.max_boilerplate_share)


def read_pool(cfg: SelectConfig, units: list[Unit]) -> list[UnitRead]:
    """First pass: every unit parsed into its spill by the workers, with a reservoir sample of each."""
    jobs = [(unit, cfg.reference_docs, cfg.seed + k, CHUNK_DOCS) for k, unit in enumerate(units)]
    workers = min(_workers(cfg), len(units))
    if workers <= 1:
        return [read_unit(*job) for job in jobs]
    with mp.get_context("fork").Pool(workers) as pool:
        return pool.starmap(read_unit, jobs, chunksize=1)


def prepare(cfg: SelectConfig, tmp: Path) -> tuple[list[PoolInput], list[Chunk], list[str], QualityRules, Calibrated]:
    """Read the sample and the pool (into spills), fit and calibrate the relevance model."""
    inputs, units = open_pool(cfg.pool, cfg.text_field, cfg.skip_bad_records, tmp)
    sample = read_sample(cfg.domain, cfg.text_field, cfg.skip_bad_records)
    check_sample(sample, cfg.domain)
    rules = rules_for(cfg, sample)
    reads = read_pool(cfg, units)
    for item_index, item in enumerate(inputs):
        item.stats = merge_stats([r.stats for u, r in zip(units, reads) if u.pool == item_index])
    chunks = [chunk for r in reads for chunk in r.chunks]
    if not sum(r.docs for r in reads):
        raise CorpusError(f"the pool {', '.join(cfg.pool)} yielded no text ({[i.stats for i in inputs]})",
                          hint="check the paths, --text-field and --skip-bad-records")
    if cfg.reference:
        config = CorpusConfig(text_field=cfg.text_field, skip_bad_records=cfg.skip_bad_records,
                              flags=corpus_flags("--reference SPEC#{}"))
        reference = reservoir(open_corpus(list(cfg.reference), config).texts(), cfg.reference_docs, cfg.seed)
    else:
        reference = merge_samples(reads, cfg.reference_docs, cfg.seed)
    calibrated = calibrate(learner_for(cfg), sample, reference, seed=cfg.seed, threshold=cfg.min_score)
    return inputs, chunks, sample, rules, calibrated


def merge_stats(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The reader's counts of one pool input, summed over its units."""
    out: dict[str, Any] = {"documents": 0, "chars": 0, "bytes": 0, "files": 0, "skipped": {}}
    for part in parts:
        for key in ("documents", "chars", "bytes", "files"):
            out[key] += part.get(key, 0)
        for reason, n in part.get("skipped", {}).items():
            out["skipped"][reason] = out["skipped"].get(reason, 0) + n
    return out


class Spill:
    """The candidate documents, written as final JSON lines while the pool streams, with their numbers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh: IO[str] = open(path, "w", encoding="utf-8")  # noqa: SIM115 - open for the spill's life; close()
        self.numbers = Candidates()

    def add(self, text: str, source: str, score: float, chars: int, pool: str, pool_index: int) -> None:
        record = {"text": text, "source": source, "pool": pool, "score": round(score, 4)}
        self.fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.numbers.add(score, chars, pool_index)

    def close(self) -> None:
        self.fh.close()


def triage(cfg: SelectConfig, inputs: list[PoolInput], chunks: list[Chunk], job: ScanJob, tmp: Path,
           ledger: Ledger, progress: bool = False) -> tuple[Spill, Spill | None, dict[str, int]]:
    """Stream the pool: every document ends in the ledger under one outcome; candidates go to the spills.

    A document's outcome is the first of, in order: a quality reason, exact_duplicate, general (score below the
    threshold), a costly quality reason, near_duplicate, else candidate. Documents that broke a quality rule
    are counted a chunk at a time; the others take the steps that need this process's state (the keys and
    signatures seen so far) one by one, in pool order."""
    domain = Spill(tmp / SPILL_DOMAIN)
    general = Spill(tmp / SPILL_GENERAL) if cfg.replay_share > 0 else None
    dedup = Deduplicator(job.hasher) if job.hasher is not None else None
    kept_sources: list[str] = []
    pairs = open(tmp / NEAR_FILE, "w", encoding="utf-8")  # noqa: SIM115 - closed after the scan; every near duplicate and the kept document it matched
    pairs.write("removed\tkept\n")
    results = zip(chunks, scan_chunks(chunks, job, _workers(cfg)))
    if progress:
        from tqdm import tqdm

        results = tqdm(results, total=len(chunks), desc="select", unit="chunk")
    for chunk, v in results:
        label = inputs[chunk.pool].label
        ledger.count_rules(v.reason, v.chars, v.texts, v.sources, label)
        chars, scores, keys = v.chars.tolist(), v.score.tolist(), v.key.tolist()
        for row in (i for i, r in enumerate(v.reason) if r is None):
            source, score = v.sources[row], scores[row]
            outcome, twin = _outcome(keys[row], score, v.costly.get(row), v.sketches.get(row), job.threshold, dedup)
            note = f"score {score:.3f}" if outcome == "general" else ""
            if twin is not None:
                note = NEAR_NOTE + kept_sources[twin]
                pairs.write(f"{source}\t{kept_sources[twin]}\n")
            ledger.record(outcome, chars[row], v.texts.get(row), source, label, note)
            if outcome == "candidate":  # relevant and replay candidates' texts are always sent back
                kept_sources.append(source)
                domain.add(v.texts[row], source, score, chars[row], label, chunk.pool)
            elif outcome == "general" and general is not None:
                general.add(v.texts[row], source, score, chars[row], label, chunk.pool)
    domain.close()
    pairs.close()
    if general is not None:
        general.close()
    for path in {chunk.path for chunk in chunks}:
        path.unlink()
    return domain, general, {"near_duplicate_index": dedup.kept if dedup else 0}


def _outcome(key: int, score: float, costly: str | None, sketch: tuple[np.ndarray, np.ndarray] | None,
             threshold: float, dedup: Deduplicator | None) -> tuple[str, int | None]:
    """The outcome of a document that passed the quality rules, by stage: exact_duplicate, general, a costly
    quality reason, near_duplicate (with the index of the kept document it copies), else candidate."""
    if dedup is not None and dedup.exact_seen(key):
        return "exact_duplicate", None
    if score < threshold:
        return "general", None
    if costly is not None:
        return costly, None
    twin = dedup.near_duplicate_of(sketch) if dedup is not None else None
    return ("near_duplicate", twin) if twin is not None else ("candidate", None)


def write_chosen(spill: Spill, keep, path: Path) -> tuple[int, int]:
    """Copy the kept lines of a spill to `path` (pool order); return (documents, characters)."""
    docs = chars = 0
    with open(spill.path, encoding="utf-8") as src, open(path, "w", encoding="utf-8") as dst:
        for line, kept, n in zip(src, keep, spill.numbers.chars):
            if kept:
                dst.write(line)
                docs += 1
                chars += n
    spill.path.unlink()
    return docs, chars


def select_documents(cfg: SelectConfig, progress: bool = False) -> dict[str, Any]:
    """Run the selection as configured; write OUT atomically (nothing at all on an error) and return the report."""
    from vocabx.bench.labels import split_label

    started = time.perf_counter()
    pool_specs = [split_label(s)[1] for s in cfg.pool]
    out = check_output_dir(cfg.out, force=cfg.force, inputs=[*pool_specs, *cfg.domain, *cfg.reference])
    if cfg.engine == "datatrove":
        from vocabx.select.datatrove_engine import run_datatrove

        return run_datatrove(cfg, out, started)
    with atomic_output_dir(out, force=cfg.force) as tmp:
        inputs, chunks, sample, rules, calibrated = prepare(cfg, tmp)
        fitted = time.perf_counter() - started
        ledger = Ledger(cfg.examples)
        hasher = MinHasher(cfg.near_dup_threshold) if cfg.dedup else None
        job = ScanJob(rules, calibrated.scorer, calibrated.threshold, hasher, keep_general=cfg.replay_share > 0,
                      examples=cfg.examples)
        domain, general, extra = triage(cfg, inputs, chunks, job, tmp, ledger, progress)
        if not len(domain.numbers):
            raise no_domain_error(cfg, ledger, calibrated)
        report = finish(cfg, tmp, out, inputs, sample, rules, calibrated, ledger, domain, general,
                        {"read_and_fit_seconds": round(fitted, 3), **extra}, started)
    return report


def no_domain_error(cfg: SelectConfig, ledger: Ledger, calibrated: Calibrated) -> CorpusError:
    counts = ", ".join(f"{k}: {v:,}" for k, v in sorted(ledger.docs.items()))
    return CorpusError(
        f"no document of the pool {', '.join(cfg.pool)} was selected as domain (threshold "
        f"{calibrated.threshold:.3f}; {counts}); nothing was written",
        hint="check that the pool holds documents like the --domain sample, or lower --min-score")


def finish(cfg, tmp: Path, out: Path, inputs, sample, rules, calibrated, ledger, domain: Spill,
           general: Spill | None, extra: dict[str, Any], started: float) -> dict[str, Any]:
    """Balance, write the outputs and the report into `tmp` (renamed to OUT by the caller)."""
    keep, balance = choose(domain.numbers, len(inputs), cfg.budget_chars, cfg.source_cap)
    docs, chars = write_chosen(domain, keep, tmp / DOMAIN_FILE)
    outputs = [DOMAIN_FILE] + ([NEAR_FILE] if (tmp / NEAR_FILE).exists() else [])
    if general is not None:
        replay_keep = choose_replay(general.numbers.chars, chars, cfg.replay_share, cfg.seed)
        balance["replay_docs"], balance["replay_chars"] = write_chosen(general, replay_keep, tmp / REPLAY_FILE)
        outputs.append(REPLAY_FILE)
    seconds = time.perf_counter() - started
    ledger.read_bytes = sum(item.stats.get("bytes", 0) for item in inputs)  # UTF-8 bytes, as the reader counted
    report = {
        "out": str(out), "selected_docs": docs, "selected_chars": chars, "scorer": calibrated.as_dict(),
        "quality_rules": {k: (sorted(v) if isinstance(v, frozenset) else v) for k, v in vars(rules).items()},
        "domain_sample": {"docs": len(sample), "chars": sum(map(len, sample))},
        "pool": [{"label": i.label, "spec": i.spec, **i.stats} for i in inputs],
        "outcomes": ledger.as_dict(), "balance": balance,
        "seconds": round(seconds, 3), "mb_per_s": round(ledger.read_bytes / 1e6 / max(seconds, 1e-9), 2),
        "peak_rss_mb": peak_rss_mb(), "workers": _workers(cfg), "engine": cfg.engine, **extra,
    }
    write_json(tmp / "report.json", report)
    (tmp / "report.md").write_text(render_markdown(report), encoding="utf-8")
    outputs += ["report.json", "report.md", MANIFEST_NAME]
    counts = {"selected_docs": docs, "selected_chars": chars, **{f"outcome_{k}": v for k, v in ledger.docs.items()},
              **balance}
    recorded = {k: v for k, v in vars(cfg).items() if k not in ("out", "force")}
    specs = [item.spec for item in inputs] + [*cfg.domain, *cfg.reference]
    write_json(tmp / MANIFEST_NAME, build_manifest("select", recorded, inputs=specs, counts=counts, outputs=outputs))
    return {**report, "outputs": outputs}
