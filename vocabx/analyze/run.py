"""The stages of one `analyze` run, in order: read and scan the corpus (candidate terms' counts and the base
tokens, in a pool of worker processes), learn the vocabulary plan (`learn`), score the candidates (domain
specificity, termhood), write. Each stage is timed (`AnalyzeResult.timings`) so benchmarks can show where the time
goes."""

from __future__ import annotations

import gc
import logging
import os
import resource
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np

from vocabx.adapters import TokenizerAdapter, load_tokenizer
from vocabx.analyze import candidates as cands
from vocabx.analyze.api import AnalyzeConfig, AnalyzeResult
from vocabx.analyze.learn import learn_plan
from vocabx.analyze.lexicon import jieba_lexicon
from vocabx.analyze.phrases import phrase_candidates
from vocabx.analyze.pieces import fallback_flags
from vocabx.analyze.plan import fingerprint
from vocabx.analyze.report import build_report, render_terms, write_outputs
from vocabx.analyze.scan import ScanJob, ShardResult, run_scan
from vocabx.analyze.segment import cuts_without_hmm, detect_lang, segment
from vocabx.analyze.stats import dict_reference, log_odds, reference_counts
from vocabx.analyze.termhood import domain_rank, termhood
from vocabx.analyze.tokencount import TokenCounter
from vocabx.analyze.units import build_units, units_builder
from vocabx.corpus import CorpusConfig, open_corpus
from vocabx.outputs import check_output_dir, host_platform, versions

log = logging.getLogger(__name__)

CORPUS_FLAGS = (("text_field", "--text-field {}"), ("skip_bad_records", "--skip-bad-records"))
REFERENCE_FLAGS = (("text_field", "--reference SPEC#{}"), ("skip_bad_records", "--skip-bad-records"))

PRUNE_BELOW = 2  # per-shard n-gram pruning (see NgramCounts): drops singletons, bounds the error by the shards


def _cpu_seconds() -> float:
    """CPU seconds so far: on a shared machine a steadier measure of a stage's cost than wall time."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the run, as it was after: its full passes over the run's hundreds of
    thousands of objects (the Counters of words and runs) cost time on every run, and the run makes no cyclic
    garbage worth collecting early (its bulk is arrays and strings, freed by reference counting). Forked workers
    inherit the setting."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Run:
    """One analysis; attributes fill up stage by stage."""

    def __init__(self, config: AnalyzeConfig, progress: bool) -> None:
        self.config = config
        self.progress = progress
        self.timings: dict[str, float] = {}
        self.cpu_timings: dict[str, float] = {}  # user + system s of this process and its reaped workers
        self.skipped: Counter[str] = Counter()
        self.noted: Counter[str] = Counter()  # candidates kept with a remark (no new token can hold them)
        self.documents: list[str] = []  # the mined corpus as the scan read it, until the plan's units are built

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start, cpu = time.perf_counter(), _cpu_seconds()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)
        self.cpu_timings[name] = round(_cpu_seconds() - cpu, 3)
        log.info("%s: %.2f s (%.2f CPU s)", name, self.timings[name], self.cpu_timings[name])

    def execute(self) -> AnalyzeResult:
        with _collector_paused():
            return self._execute()

    def _execute(self) -> AnalyzeResult:
        c = self.config
        if not c.corpus or not c.tokenizer or not c.out:
            from vocabx.errors import UsageError

            raise UsageError("analyze needs a corpus, a tokenizer and an output directory",
                             hint="vocabx analyze CORPUS... --tokenizer TOK --out DIR")
        check_output_dir(c.out, force=c.force, inputs=[*c.corpus, *c.reference])
        corpus_config = CorpusConfig(text_field=c.text_field, skip_bad_records=c.skip_bad_records, flags=CORPUS_FLAGS)
        with self.stage("load"):
            self.corpus = open_corpus(list(c.corpus), corpus_config)
            # --text-field holds for every input; a reference with other fields names its own (`SPEC#FIELD`).
            reference_config = CorpusConfig(text_field=c.text_field, skip_bad_records=c.skip_bad_records,
                                            flags=REFERENCE_FLAGS)
            self.reference = open_corpus(list(c.reference), reference_config) if c.reference else None
            self.lang = c.lang if c.lang != "auto" else detect_lang(self.corpus.texts())
            segment("预热", self.lang)  # load the segmenter's dictionary once, before the workers fork
        with self.stage("scan"):  # the tokenizer loads here, while the workers scan (`_prepare`)
            self.scan = self._scan(self.corpus, tokenize=True)
            self._prepare()  # done already unless the corpus had no shard
        with self.stage("reference"):  # before the learner's thread starts: the scan forks its workers
            self.ref_scan = self._scan(self.reference, tokenize=False) if self.reference else None
        with self.stage("units"):  # on the documents the scan read (no second read), released once built
            units = build_units(self.adapter, self.documents, c.shape, self.units_builder)
            self.documents = []
        # The learner runs in the kernel with the GIL released: a thread learns while this one finds the
        # mixed-script candidates (a chunked pass: its arrays stay small beside the learner's) and scores them all.
        with ThreadPoolExecutor(1) as pool:
            learning = pool.submit(learn_plan, units, max(c.budgets), c.scoring)
            with self.stage("mixed"):
                self.mixed = (cands.mixed_candidates(self.corpus.batches(cands.MIXED_CHUNK_CHARS), c.min_freq,
                                                     self.scan.words) if self.lang == "zh" else None)
            with self.stage("candidates"):
                self.cands = self._candidates()
                self.domain = self._domain_scores()
                self.termhood_order = np.argsort(-domain_rank(self.domain, self.cands.freq, self.is_term),
                                                 kind="stable")
            with self.stage("learn"):  # what the learner still needs once the candidates are scored
                self.plan = learning.result()
                self.plan.fingerprint = fingerprint(self.adapter)
        if c.heldout:
            with self.stage("heldout"):
                self.heldout_points = self._project_heldout()
        with self.stage("write"):
            self.report = build_report(self)
            return write_outputs(self, *render_terms(self))

    def _scan(self, corpus: Any, tokenize: bool) -> ShardResult:
        c = self.config
        job = ScanJob(self.lang, c.max_len + 1, PRUNE_BELOW)
        batches = corpus.batches(c.shard_chars)
        if tokenize:  # the mined corpus: its documents are kept for the plan's units
            self.documents = []
            batches = self._keep(batches)
        return run_scan(batches, job, self._workers(), 0,
                        self._count_tokens if tokenize else None, self.progress,
                        while_waiting=self._prepare if tokenize else None)

    def _keep(self, batches: Iterator[list[str]]) -> Iterator[list[str]]:
        for batch in batches:
            self.documents.extend(batch)
            yield batch

    def _count_tokens(self, texts: list[str]) -> tuple[int, int]:
        return self.counter.count(texts)

    def _workers(self) -> int:
        return self.config.workers or os.cpu_count() or 1

    def _prepare(self) -> None:
        """What later stages need that the corpus does not decide, done while the workers scan: the tokenizer
        (a bad one still fails within a shard's time, before anything is written) and its vocabulary tables for the
        plan's units, jieba's lexicon with its index, and the library versions and platform the manifest records."""
        if hasattr(self, "counter"):
            return
        self.adapter: TokenizerAdapter = load_tokenizer(self.config.tokenizer)
        self.flags, self.flag_kind = fallback_flags(self.adapter)
        self.counter = TokenCounter(self.adapter, self.flags)
        # its vocabulary tables, beside the run's counter; fails for a family it cannot learn
        self.units_builder = units_builder(self.adapter, self.counter)
        if self.lang == "zh":
            jieba_lexicon()
        versions()
        host_platform()

    def _candidates(self) -> cands.Candidates:
        c = self.config
        label = "jieba" if self.lang == "zh" else "words"
        parts = [cands.word_candidates(self.scan.words, self.scan.word_docs, c.min_freq, label)]
        if self.mixed is not None:
            parts.append(self.mixed)
        if self.scan.ngrams.tables:
            parts.insert(0, cands.han_candidates(self.scan.ngrams, self.scan.words, c.min_freq, c.max_len,
                                                 c.min_cohesion, c.min_entropy, label))
        found = cands.filter_for_tokenizer(cands.concat(parts), self.adapter, self.counter, self.skipped, self.noted)
        if self.lang != "zh":  # words joined by spaces, where the tokenizer can make them one token
            found = cands.concat([found, phrase_candidates(self.corpus.texts(), self.adapter, c.min_freq,
                                                           c.min_cohesion, c.min_entropy, self.skipped)])
        return found

    def _domain_scores(self) -> np.ndarray:
        """Log-odds delta against the --reference corpora, else (Chinese) jieba's dictionary, where phrases it
        lacks get the count their words would give if independent; NaN without either. Sets `is_term` too."""
        terms = self.cands.terms
        zh = self.lang == "zh"
        cuts = cuts_without_hmm(terms) if zh else {}  # shared by the reference estimate and termhood
        self.is_term = termhood(terms, jieba_lexicon(), cuts.__getitem__) if zh else np.ones(len(terms), bool)
        # Segmenter words get no discovery gate; a term must still be free on both sides (高血 inside 高血压 isn't).
        self.is_term &= cands.is_free(self.cands, self.config.min_entropy)
        if self.ref_scan is not None:
            r = reference_counts(terms, self.ref_scan.ngrams, self.ref_scan.words)
            n_r = self.ref_scan.chars
        elif zh:
            lexicon = jieba_lexicon()
            r, n_r = dict_reference(terms, lexicon, cuts.__getitem__), lexicon.total
        else:
            return np.full(len(terms), np.nan)
        delta, _ = log_odds(self.cands.freq, float(self.scan.chars), r, float(n_r))
        return delta

    def _project_heldout(self) -> list[dict[str, Any]]:
        """chars/token of the --heldout text after each budget: the plan's entries added by the family's extender
        (`vocabx extend`'s own code) and the text tokenized by the result."""
        from vocabx.extend.registry import get_extender

        texts = [t for t in open_corpus(list(self.config.heldout), CorpusConfig(text_field=self.config.text_field))
                 .texts() if t]
        chars, extender, points = sum(map(len, texts)), get_extender(self.adapter.family), []
        for budget in self.config.budgets:
            tokens = extender.extend_plan(self.adapter, self.plan, budget).extended.count_tokens(texts)
            points.append({"budget": budget, "entries": min(budget, len(self.plan.entries)), "tokens": tokens,
                           "chars_per_token": round(chars / max(tokens, 1), 4)})
        return points
