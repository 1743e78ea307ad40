"""The stages of one `analyze` run, in order: read and scan the corpus, score candidates, select, project,
write. Each stage is timed (`AnalyzeResult.timings`) so benchmarks can show where the time goes. The scan runs in
a pool of worker processes; the later stages run here, their inner loops in the compiled kernels (`kernels`)
where those are built, several of them in threads alongside (`threads.InThread`: the projection's tokenizer work
and the term occurrences during `candidates`, the report while terms.tsv is rendered, the budgets' projection
passes two at a time; all mostly in code that releases the GIL). A forked helper for the projection was measured
and dropped: no faster on two cores, and its token cache was lost to this process."""

from __future__ import annotations

import gc
import logging
import os
import resource
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from vocabx.adapters import TokenizerAdapter, load_tokenizer
from vocabx.analyze import candidates as cands
from vocabx.analyze.api import AnalyzeConfig, AnalyzeResult
from vocabx.analyze.fragmentation import Projector, word_fertility
from vocabx.analyze.kernels import engine
from vocabx.analyze.lexicon import jieba_lexicon
from vocabx.analyze.occurrences import RunText
from vocabx.analyze.pieces import fallback_flags
from vocabx.analyze.report import build_report, render_terms, write_outputs
from vocabx.analyze.scan import ScanJob, ShardResult, run_scan
from vocabx.analyze.phrases import phrase_candidates
from vocabx.analyze.segment import cuts_without_hmm, detect_lang, han_texts, segment
from vocabx.analyze.select import merge_ranked, select
from vocabx.analyze.stats import dict_reference, log_odds, reference_counts
from vocabx.analyze.termhood import domain_rank, termhood
from vocabx.analyze.threads import InThread
from vocabx.analyze.tokencount import TokenCounter
from vocabx.corpus import CorpusConfig, open_corpus
from vocabx.outputs import check_output_dir, host_platform, versions

log = logging.getLogger(__name__)

CORPUS_FLAGS = (("text_field", "--text-field {}"), ("skip_bad_records", "--skip-bad-records"))
REFERENCE_FLAGS = (("text_field", "--reference SPEC#{}"), ("skip_bad_records", "--skip-bad-records"))

PRUNE_BELOW = 2  # per-shard n-gram pruning (see NgramCounts): drops singletons, bounds the error by the shards


def _projection_work(text: RunText, counter: TokenCounter,
                     words: Counter[str]) -> tuple[Projector, tuple[float, float, int]]:
    """What the report needs that no term decides, for a thread during `candidates`: the projector (the runs'
    pieces tokenized) and the segmenter words' fertility (`fragmentation.word_fertility`)."""
    return Projector(text, counter), word_fertility(words, counter)


def _cpu_seconds() -> float:
    """CPU seconds so far: on a shared machine a steadier measure of a stage's cost than wall time."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the run, as it was after: its full passes over the run's hundreds of
    thousands of objects (the Counters of words and runs) took 50-100 ms of every run, and the run makes no cyclic
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
            # The reference is other text: the corpus's --text-field is not its field (`--reference SPEC#FIELD` is).
            reference_config = CorpusConfig(skip_bad_records=c.skip_bad_records, flags=REFERENCE_FLAGS)
            self.reference = open_corpus(list(c.reference), reference_config) if c.reference else None
            self.lang = c.lang if c.lang != "auto" else detect_lang(self.corpus.texts())
            segment("预热", self.lang)  # load the segmenter's dictionary once, before the workers fork
        with self.stage("scan"):  # the tokenizer loads here, while the workers scan (`_prepare`)
            self.scan = self._scan(self.corpus, tokenize=True, run_cap=c.sample_chars)
            self._prepare()  # done already unless the corpus had no shard
            self.run_text = RunText.build(dict(self.scan.runs))
        return self._after_scan()

    def _after_scan(self) -> AnalyzeResult:
        with self.stage("reference"):
            self.ref_scan = self._scan(self.reference, tokenize=False, run_cap=0) if self.reference else None
        with self.stage("candidates"):
            # The projection's tokenizer work needs no term: a thread does it during the next stages, with its own
            # token cache (the counter's is not shared across threads). Started after the last pool has forked.
            self.projection = InThread(_projection_work, self.run_text, self.counter.clone(), self.scan.words)
            self.cands = self._candidates()
            self.domain = self._domain_scores()
        with self.stage("select"):
            self._select()
        with self.stage("project"):  # the report in a thread (its passes release the GIL); terms.tsv rendered here
            report = InThread(self._report)
            self.terms = self._render_terms()
            self.report = report.result()
        with self.stage("write"):
            return self._write()

    def _scan(self, corpus: Any, tokenize: bool, run_cap: int) -> ShardResult:
        c = self.config
        job = ScanJob(self.lang, c.max_len + 1, PRUNE_BELOW)
        return run_scan(corpus.batches(c.shard_chars), job, self._workers(), run_cap,
                        self._count_tokens if tokenize else None, self.progress,
                        while_waiting=self._prepare if tokenize else None)

    def _count_tokens(self, texts: list[str]) -> tuple[int, int]:
        return self.counter.count(texts)

    def _workers(self) -> int:
        return self.config.workers or os.cpu_count() or 1

    def _prepare(self) -> None:
        """What later stages need that the corpus does not decide, done while the workers scan: the tokenizer
        (a bad one still fails within a shard's time, before anything is written), jieba's lexicon with its index,
        and the library versions and platform the manifest records."""
        if hasattr(self, "counter"):
            return
        self.adapter: TokenizerAdapter = load_tokenizer(self.config.tokenizer)
        self.flags, self.flag_kind = fallback_flags(self.adapter)
        self.counter = TokenCounter(self.adapter, self.flags)
        if self.lang == "zh":
            jieba_lexicon()
        versions()
        host_platform()

    def _candidates(self) -> cands.Candidates:
        c = self.config
        label = "jieba" if self.lang == "zh" else "words"
        parts = [cands.word_candidates(self.scan.words, self.scan.word_docs, c.min_freq, label)]
        if self.scan.ngrams.tables:
            parts.insert(0, cands.han_candidates(self.scan.ngrams, self.scan.words, c.min_freq, c.max_len,
                                                 c.min_cohesion, c.min_entropy, label))
        merged = cands.concat(parts)
        found = cands.filter_for_tokenizer(merged, self.adapter, self.counter, self.skipped)
        if self.lang != "zh":  # words joined by spaces, where the tokenizer can make them one token
            found = cands.concat([found, phrase_candidates(self.corpus.texts(), self.adapter, c.min_freq,
                                                           c.min_cohesion, c.min_entropy, self.skipped,
                                                           c.sample_chars)])
        # Where the Han terms occur in the runs (a compiled pass) is needed by the selection only: a thread finds
        # it while the domain scores are computed here.
        self.han = han_texts(found.terms)
        self.occurrences = InThread(self.run_text.matches, [found.terms[i] for i in np.flatnonzero(self.han)])
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

    def _priority(self) -> np.ndarray | None:
        """The `domain` ranking (see `termhood.domain_rank`); None for `tokens` or without a reference, where
        the order is the greedy token saving."""
        if self.config.objective == "tokens" or np.isnan(self.domain).all():
            return None
        return domain_rank(self.domain, self.cands.freq, self.is_term)

    def _select(self) -> None:
        han = self.han
        priority = self._priority()
        han_idx = np.flatnonzero(han)
        han_terms = [self.cands.terms[i] for i in han_idx]
        pos, term = self.occurrences.result()
        char_cost = self._char_costs()
        self.selection = select(pos, term, np.array([len(t) for t in han_terms], dtype=np.int64),
                                self.cands.base_tokens[han_idx], np.ones(len(han_idx)), char_cost,
                                self.run_text.weight, None if priority is None else priority[han_idx])
        sel = self.selection
        # Other scripts' words do not overlap Han terms: they merge into the order by their own key (saving or
        # priority), keeping the selection's order of Han terms (so the Han terms of any prefix are a selection
        # prefix, which the projection relies on).
        other = np.flatnonzero(~han)
        other_gain = (self.cands.freq[other] * (self.cands.base_tokens[other] - 1)).astype(float)
        han_key = sel.gain if priority is None else priority[han_idx][sel.order]
        other_key = other_gain if priority is None else priority[other]
        other_order = np.argsort(-other_key, kind="stable")
        merged = merge_ranked(han_key, other_key[other_order])
        idx = np.concatenate([han_idx[sel.order], other[other_order]])[merged]
        gain = np.concatenate([sel.gain, other_gain[other_order]])[merged]
        self.order, self.gain, self.is_han = idx, gain, han[idx]
        self.counts_extra = {"kernels": engine(), "selection_rounds": sel.rounds,
                             "selection_rescored_occurrences": sel.evaluations,
                             "terms_shaped": int(self.is_term.sum())}

    def _char_costs(self) -> np.ndarray:
        """In-context base tokens of each distinct character of the runs, spread over their positions (the
        projector tokenized the characters already, in its thread)."""
        projector, _ = self.projection.result()
        return projector.char_cost[projector.char_ids]

    def _report(self) -> dict[str, Any]:
        return build_report(self)

    def _render_terms(self) -> tuple[dict[str, list[Any]], str]:
        return render_terms(self)

    def _write(self) -> AnalyzeResult:
        return write_outputs(self, *self.terms)
