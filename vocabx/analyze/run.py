"""The stages of one `analyze` run, in order: read and scan the corpus, score candidates, select, project,
write. Each stage is timed (`AnalyzeResult.timings`) so benchmarks can show where the time goes."""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from contextlib import contextmanager
from collections.abc import Iterator
from typing import Any

import numpy as np

from vocabx.adapters import TokenizerAdapter, load_tokenizer
from vocabx.analyze import candidates as cands
from vocabx.analyze.api import AnalyzeConfig, AnalyzeResult
from vocabx.analyze.fragmentation import Projector, project, word_fertility
from vocabx.analyze.occurrences import RunText
from vocabx.analyze.pieces import PieceEncoder, fallback_flags
from vocabx.analyze.scan import ScanJob, ShardResult, run_scan
from vocabx.analyze.segment import detect_lang, is_han_text, segment, segmenter_name
from vocabx.analyze.select import select
from vocabx.analyze.stats import jieba_dict_counts, log_odds_z, reference_counts
from vocabx.analyze.terms import write_terms
from vocabx.corpus import CorpusConfig, open_corpus
from vocabx.outputs import atomic_output_dir, build_manifest, check_output_dir, write_json

log = logging.getLogger(__name__)

PRUNE_BELOW = 2  # per-shard n-gram pruning (see NgramCounts): drops singletons, bounds the error by the shards


class Run:
    """One analysis; attributes fill up stage by stage."""

    def __init__(self, config: AnalyzeConfig, progress: bool) -> None:
        self.config = config
        self.progress = progress
        self.timings: dict[str, float] = {}
        self.skipped: Counter[str] = Counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)
        log.info("%s: %.2f s", name, self.timings[name])

    def execute(self) -> AnalyzeResult:
        c = self.config
        if not c.corpus or not c.tokenizer or not c.out:
            from vocabx.errors import UsageError

            raise UsageError("analyze needs a corpus, a tokenizer and an output directory",
                             hint="vocabx analyze CORPUS... --tokenizer TOK --out DIR")
        check_output_dir(c.out, force=c.force, inputs=[*c.corpus, *c.reference])
        corpus_config = CorpusConfig(text_field=c.text_field, skip_bad_records=c.skip_bad_records)
        with self.stage("load"):
            self.corpus = open_corpus(list(c.corpus), corpus_config)
            self.reference = open_corpus(list(c.reference), corpus_config) if c.reference else None
            self.adapter: TokenizerAdapter = load_tokenizer(c.tokenizer)
            self.encoder = PieceEncoder(self.adapter)
            self.flags, self.flag_kind = fallback_flags(self.adapter)
            self.lang = c.lang if c.lang != "auto" else detect_lang(self.corpus.texts())
            segment("预热", self.lang)  # load the dictionary once, before workers fork
        with self.stage("scan"):
            self.scan = self._scan(self.corpus, tokenize=True, run_cap=c.sample_chars)
        with self.stage("reference"):
            self.ref_scan = self._scan(self.reference, tokenize=False, run_cap=0) if self.reference else None
        with self.stage("candidates"):
            self.cands = self._candidates()
            self.domain = self._domain_scores()
        with self.stage("select"):
            self._select()
        with self.stage("project"):
            self.report = self._report()
        with self.stage("write"):
            return self._write()

    def _scan(self, corpus: Any, tokenize: bool, run_cap: int) -> ShardResult:
        c = self.config
        job = ScanJob(self.lang, c.max_len + 1, PRUNE_BELOW, tokenize)
        workers = c.workers or os.cpu_count() or 1
        return run_scan(corpus.batches(c.shard_chars), job, workers, run_cap, self.adapter, self.flags, self.progress)

    def _candidates(self) -> cands.Candidates:
        c = self.config
        label = "jieba" if self.lang == "zh" else "words"
        parts = [cands.word_candidates(self.scan.words, self.scan.word_docs, c.min_freq, label)]
        if self.scan.ngrams.tables:
            parts.insert(0, cands.han_candidates(self.scan.ngrams, self.scan.words, c.min_freq, c.max_len,
                                                 c.min_cohesion, c.min_entropy, label))
        merged = cands.concat(parts)
        return cands.filter_for_tokenizer(merged, self.adapter, self.encoder, self.skipped)

    def _domain_scores(self) -> np.ndarray:
        """Log-odds z against the --reference corpora, else (Chinese) jieba's dictionary; NaN without either."""
        terms = self.cands.terms
        y = self.cands.freq
        if self.ref_scan is not None:
            r = reference_counts(terms, self.ref_scan.ngrams, self.ref_scan.words)
            n_y, n_r = self.scan.chars, self.ref_scan.chars
        elif self.lang == "zh":
            counts, n_r = jieba_dict_counts()
            r = np.array([counts.get(t, 0) for t in terms], dtype=np.int64)
            n_y = self.scan.chars
        else:
            return np.full(len(terms), np.nan)
        return log_odds_z(y, float(n_y), r, float(n_r))

    def _select(self) -> None:
        c = self.config
        han = np.array([is_han_text(t) for t in self.cands.terms], dtype=bool)
        value = np.ones(len(han))
        if c.objective == "domain":
            # A smooth gate: z >= 4 counts fully, z <= 0 (not over-represented) hardly at all.
            z = np.nan_to_num(self.domain, nan=4.0)
            value = 1.0 / (1.0 + np.exp(-(z - 2.0)))
        self.run_text = RunText.build(dict(self.scan.runs))
        self.hashes = self.run_text.rolling_hashes(c.max_len)
        han_idx = np.flatnonzero(han)
        han_terms = [self.cands.terms[i] for i in han_idx]
        pos, term = self.run_text.matches(han_terms, self.hashes)
        char_cost = self._char_costs()
        sel = select(pos, term, np.array([len(t) for t in han_terms], dtype=np.int64), self.cands.base_tokens[han_idx],
                     value[han_idx], char_cost, self.run_text.weight.astype(np.float64))
        # Other scripts' words do not overlap Han terms: they merge into the order by their own weighted saving.
        other = np.flatnonzero(~han)
        other_gain = (self.cands.freq[other] * (self.cands.base_tokens[other] - 1) * value[other]).astype(float)
        gain = np.concatenate([sel.gain, other_gain])
        idx = np.concatenate([han_idx[sel.order], other])
        order = np.argsort(-gain, kind="stable")
        self.order, self.gain, self.is_han = idx[order], gain[order], han[idx[order]]
        self.counts_extra = {"selection_evaluations": sel.evaluations}

    def _char_costs(self) -> np.ndarray:
        """In-context base tokens of each distinct character of the runs, spread over their positions."""
        uniq, inv = np.unique(self.run_text.cps, return_inverse=True)
        cost = self.encoder.count([chr(u) for u in uniq.tolist()])
        return cost[inv].astype(np.float64)

    def _report(self) -> dict[str, Any]:
        from vocabx.analyze.report import build_report

        return build_report(self)

    def _write(self) -> AnalyzeResult:
        from vocabx.analyze.report import write_outputs

        return write_outputs(self)
