"""`--engine datatrove`: the selection as datatrove pipeline steps, the path to pools that outgrow one machine.

vocabx's rules and fitted relevance model become datatrove filters (`QualityStep`, `RelevanceStep`) after a reader
of vocabx corpora (`CorpusReader`); near duplicates are removed by datatrove's own four MinHash stages (signatures,
buckets, clusters, filter), over 5-character shingles (`CharTokenizer`: Chinese has no spaces to split words at).
Here the stages run on datatrove's `LocalPipelineExecutor`; on a cluster the same step lists go to its
`SlurmPipelineExecutor` or `RayPipelineExecutor`. The balance (budget, per-input cap, replay) and the report are
vocabx's, on the filtered output. Exact duplicates are not a separate stage: MinHash finds them as near ones.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vocabx.errors import require
from vocabx.select.config import SelectConfig

log = logging.getLogger(__name__)


def _steps():
    """datatrove's classes, imported only when this engine runs (an optional dependency)."""
    require("datatrove", "--engine datatrove", "datatrove")
    from datatrove.data import Document
    from datatrove.pipeline.base import PipelineStep
    from datatrove.pipeline.filters.base_filter import BaseFilter
    from datatrove.utils.word_tokenizers import WordTokenizer

    from vocabx.select.relevance import normalized_keep
    from vocabx.select.textbatch import TextBatch

    class CorpusReader(PipelineStep):
        """vocabx corpora as datatrove documents: task `rank` reads units rank, rank + world_size, ..."""

        name = "vocabx corpus reader"
        type = "📖 - READER"

        def __init__(self, units: list[tuple[Any, int, str]]) -> None:
            super().__init__()
            self.units = units  # (Corpus of one file, pool index, pool label)

        def run(self, data=None, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
            for corpus, index, label in self.units[rank::world_size]:
                for doc in corpus:
                    self.stat_update("documents")
                    yield Document(text=doc.text, id=doc.source, metadata={"pool": label, "pool_index": index})

    class QualityStep(BaseFilter):
        """vocabx's quality rules (`costly`: the second group, run after relevance as in the local engine)."""

        name = "vocabx quality"

        def __init__(self, rules, costly: bool = False, exclusion_writer=None) -> None:
            super().__init__(exclusion_writer, batch_size=1024)
            self.rules, self.costly = rules, costly

        def filter(self, doc):
            return self.filter_batch([doc])[0]

        def filter_batch(self, batch):
            batch_text = TextBatch([d.text for d in batch])
            reasons = self.rules.check_costly(batch_text) if self.costly else self.rules.check(batch_text)
            return [True if r is None else (False, r) for r in reasons]

    class RelevanceStep(BaseFilter):
        """vocabx's fitted relevance model; the score goes into the document's metadata."""

        name = "vocabx relevance"

        def __init__(self, scorer, threshold: float, exclusion_writer=None) -> None:
            super().__init__(exclusion_writer, batch_size=1024)
            self.scorer, self.threshold = scorer, threshold

        def filter(self, doc):
            return self.filter_batch([doc])[0]

        def filter_batch(self, batch):
            scores = self.scorer.score(TextBatch([d.text for d in batch]))
            for d, s in zip(batch, scores.tolist()):
                d.metadata["score"] = round(float(s), 4)
            return [True if s >= self.threshold else (False, "general") for s in scores.tolist()]

    class CharTokenizer(WordTokenizer):
        """Each content character a word, so datatrove's word 5-grams are vocabx's 5-character shingles."""

        def word_tokenize(self, text: str) -> list[str]:
            batch = TextBatch([text])
            return [c for c, keep in zip(text, normalized_keep(batch).tolist()) if keep]

        def sent_tokenize(self, text: str) -> list[str]:
            return [text]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [(0, len(text))]

    return CorpusReader, QualityStep, RelevanceStep, CharTokenizer


def pipelines(cfg: SelectConfig, units: list[tuple[Any, int, str]], rules, calibrated, work: Path) -> list[dict]:
    """The five executor configurations: filter, MinHash signatures, buckets, clusters, dedup filter."""
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    reader, quality, relevance, char_tokenizer = _steps()
    writer = lambda name: JsonlWriter(str(work / name), output_filename="${rank}.jsonl", compression=None)  # noqa: E731
    general = writer("general") if cfg.replay_share > 0 else None
    tasks = max(1, len(units))
    first = [reader(units), quality(rules), relevance(calibrated.scorer, calibrated.threshold, general),
             quality(rules, costly=True)]
    if not cfg.dedup:
        return [{"pipeline": [*first, writer("final")], "tasks": tasks}]
    # sha1 shingle hashes: datatrove 0.10's xxhash path hands str to xxhash 4, which takes bytes only
    # (https://github.com/huggingface/datatrove/issues/508).
    minhash = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8, hash_config=HashConfig(hash_fc="sha1"))
    read = lambda: JsonlReader(str(work / "candidates"), glob_pattern="*.jsonl")  # noqa: E731
    return [
        {"pipeline": [*first, writer("candidates")], "tasks": tasks},
        {"pipeline": [read(), MinhashDedupSignature(str(work / "sigs"), minhash, language=char_tokenizer())],
         "tasks": 1},
        {"pipeline": [MinhashDedupBuckets(str(work / "sigs"), str(work / "buckets"), config=minhash)],
         "tasks": minhash.num_buckets},
        {"pipeline": [MinhashDedupCluster(str(work / "buckets"), str(work / "remove"), config=minhash)], "tasks": 1},
        {"pipeline": [read(), MinhashDedupFilter(str(work / "remove")), writer("final")], "tasks": 1},
    ]


def run_pipelines(configs: list[dict], work: Path, workers: int) -> list[dict]:
    """Run each configuration on datatrove's local executor, one after the other; their stats.json contents."""
    from datatrove.executor import LocalPipelineExecutor
    from loguru import logger

    stats = []
    logger.disable("datatrove")  # datatrove logs through loguru to stderr; vocabx libraries do not print
    try:
        for k, config in enumerate(configs):
            executor = LocalPipelineExecutor(config["pipeline"], tasks=config["tasks"],
                                             workers=min(workers, config["tasks"]),
                                             logging_dir=str(work / "logs" / str(k)), start_method="fork")
            executor.run()
            stats.append(json.loads((work / "logs" / str(k) / "stats.json").read_text(encoding="utf-8")))
    finally:
        logger.enable("datatrove")
    return stats


def dropped_counts(stats: list[dict]) -> Counter:
    """Documents each step dropped, by reason (datatrove's `dropped_REASON` counters)."""
    out: Counter = Counter()
    for stage in stats:
        for step in stage:
            for key, value in step.get("stats", {}).items():
                total = value.get("total", 0) if isinstance(value, dict) else value
                if key.startswith("dropped_"):
                    out[key.removeprefix("dropped_")] += int(total)
                elif key == "dropped" and "MinHash" in step.get("name", ""):
                    out["near_duplicate"] += int(total)
    return out


def read_jsonl_dir(folder: Path) -> Iterator[dict]:
    for path in sorted(folder.glob("*.jsonl"), key=lambda p: int(p.stem) if p.stem.isdigit() else p.stem):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)


def run_datatrove(cfg: SelectConfig, out: Path, started: float) -> dict[str, Any]:
    """The whole selection with datatrove doing the filtering and deduplication; same outputs as the local engine."""
    from vocabx.outputs import atomic_output_dir
    from vocabx.select.api import Spill, finish, no_domain_error, prepare
    from vocabx.select.ledger import Ledger

    require("datatrove", "--engine datatrove", "datatrove")
    with atomic_output_dir(out, force=cfg.force) as tmp:
        inputs, chunks, sample, rules, calibrated = prepare(cfg, tmp)
        for path in {chunk.path for chunk in chunks}:  # the local engine's spills: datatrove reads the inputs itself
            path.unlink()
        from vocabx.select.inputs import open_pool

        _, units = open_pool(cfg.pool, cfg.text_field, cfg.skip_bad_records, tmp)
        triples = [(u.corpus, u.pool, inputs[u.pool].label) for u in units]
        work = tmp / ".datatrove"
        fitted = time.perf_counter() - started
        stats = run_pipelines(pipelines(cfg, triples, rules, calibrated, work), work, cfg.workers or 2)
        ledger = Ledger(cfg.examples)
        for reason, n in dropped_counts(stats).items():
            ledger.docs[reason] += n
        domain = Spill(tmp / ".domain.candidates.jsonl")
        general = Spill(tmp / ".general.candidates.jsonl") if cfg.replay_share > 0 else None
        for spill, folder in ((domain, work / "final"), (general, work / "general")):
            if spill is None:
                continue
            for record in read_jsonl_dir(folder):
                meta = record.get("metadata", {})
                spill.add(record["text"], record["id"], float(meta.get("score", 0.0)), len(record["text"]),
                          meta.get("pool", ""), int(meta.get("pool_index", 0)))
            spill.close()
        ledger.docs["candidate"] = len(domain.numbers)
        ledger.read_docs = sum(item.stats.get("documents", 0) for item in inputs)
        ledger.read_chars = sum(item.stats.get("chars", 0) for item in inputs)
        if not len(domain.numbers):
            raise no_domain_error(cfg, ledger, calibrated)
        with contextlib.suppress(OSError):
            import shutil

            shutil.rmtree(work)
        return finish(cfg, tmp, out, inputs, sample, rules, calibrated, ledger, domain, general,
                      {"read_and_fit_seconds": round(fitted, 3), "datatrove_stages": len(stats)}, started)
