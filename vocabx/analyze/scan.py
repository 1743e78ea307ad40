"""Pass one over the corpus as map/reduce: each shard (a batch of documents) is segmented and its words, Han runs
and Han n-grams counted in worker processes, while this process counts its base tokens; shard results merge
exactly (`ShardResult.merge`). Texts and results travel through files in shared memory (`spill`), not the pool's
pipes."""

from __future__ import annotations

import logging
import multiprocessing as mp
import shutil
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain

import numpy as np

from vocabx.analyze.jiebacut import jieba_model
from vocabx.analyze.ngrams import NgramCounts, count_ngrams, count_ngrams_at, merge_all
from vocabx.analyze.segment import HAN_RUN, char_classes, keep_words, raw_words
from vocabx.analyze.spans import count_spans
from vocabx.analyze.spill import Texts, load, send, spill_dir

log = logging.getLogger(__name__)


@dataclass
class ShardResult:
    """What pass one learns from some documents. `runs` holds the distinct Han runs and their counts only until
    `run_chars` reaches the sampling cap; `run_han_chars` is the Han characters those runs cover."""

    ngrams: NgramCounts = field(default_factory=NgramCounts)
    words: Counter[str] = field(default_factory=Counter)
    word_docs: Counter[str] = field(default_factory=Counter)
    runs: Counter[str] = field(default_factory=Counter)
    run_han_chars: int = 0
    documents: int = 0
    chars: int = 0
    bytes: int = 0
    tokens: int = 0
    flagged_tokens: int = 0

    def merge(self, other: ShardResult, run_cap: int) -> ShardResult:
        self.ngrams = self.ngrams.merge(other.ngrams)
        self.words.update(other.words)
        self.word_docs.update(other.word_docs)
        if self.run_han_chars < run_cap:  # keep whole shards only, so the sample is a set of documents
            self.runs.update(other.runs)
            self.run_han_chars += other.run_han_chars
        for name in ("documents", "chars", "bytes", "tokens", "flagged_tokens"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


@dataclass(frozen=True)
class ScanJob:
    """What a worker needs to scan a shard (base tokens are counted by the caller of `run_scan`)."""

    lang: str
    max_n: int
    prune_below: int


MERGE_EVERY = 8  # shard results buffered before one k-way merge: fewer re-sorts of the growing n-gram tables
Tokens = Callable[[list[str]], tuple[int, int]]


def scan_shard(texts: list[str], job: ScanJob) -> ShardResult:
    """Map step: everything pass one needs from one batch of documents."""
    if job.lang == "zh":
        return count_tiled(texts, *segment(texts), job)
    pieces = [raw_words(text, job.lang) for text in texts]  # every character, punctuation included
    result = _shard_result(texts)
    _scan_words(result, texts, pieces, job)
    return result


def _scan_task(texts: Texts, job: ScanJob, directory: str | None) -> object:
    """`scan_shard` in a worker, its result sent back through `directory` (`spill.send`)."""
    return send(scan_shard(texts.texts(), job), directory)


def _count_task(texts: Texts, job: ScanJob, directory: str | None, part: str) -> object:
    """One part of `count_tiled` in a worker, its result sent back through `directory` (`spill.send`); the task
    segments the shard itself (a few percent of the time the counting takes)."""
    counts, lengths = segment(texts)
    return send(count_tiled(texts, counts, lengths, job, (part,)), directory)


def segment(texts: list[str] | Texts) -> tuple[np.ndarray, np.ndarray]:
    """(pieces per document, piece lengths) of jieba's segmentation of `texts` by the compiled jieba (`jiebacut`):
    small arrays travel back, not strings; the pieces tile the texts (punctuation and spaces are pieces too)."""
    source = texts if isinstance(texts, Texts) else Texts(None, inline=tuple(texts))
    return jieba_model().cut_lengths(*source.codepoints())


def _shard_result(texts: list[str]) -> ShardResult:
    result = ShardResult(documents=len(texts), chars=sum(map(len, texts)))
    result.bytes = len("".join(texts).encode("utf-8"))
    return result


def _utf8_bytes(cps: np.ndarray) -> int:
    """UTF-8 bytes of the code points `cps`, computed from their values."""
    return len(cps) + int(np.count_nonzero(cps >= 0x80)) + int(np.count_nonzero(cps >= 0x800)) + int(
        np.count_nonzero(cps >= 0x10000))


@dataclass
class _Tiled:
    """A shard joined (a newline ends every document, a piece of its own), with its segmentation's pieces located:
    `starts`/`ends` of every piece, `word` marking the segmenter's pieces (not the newlines), `doc` per position."""

    joined: str
    cps: np.ndarray
    doc_lengths: list[int]
    starts: np.ndarray
    ends: np.ndarray
    word: np.ndarray
    doc: np.ndarray

    @classmethod
    def build(cls, texts: list[str] | Texts, counts: np.ndarray, lengths: np.ndarray) -> _Tiled:
        source = texts if isinstance(texts, Texts) else Texts(None, inline=tuple(texts))
        joined, cps = source.joined()
        doc_lengths = source.doc_lengths()
        counts = counts.astype(np.int64)
        lengths = np.insert(lengths.astype(np.int64), np.cumsum(counts), 1)
        ends = np.cumsum(lengths)
        newline = np.cumsum(counts + 1) - 1  # the index of each document's closing newline among the pieces
        word = np.ones(len(lengths), dtype=bool)
        word[newline] = False
        doc = np.repeat(np.arange(len(doc_lengths), dtype=np.int64), np.asarray(doc_lengths, dtype=np.int64) + 1)
        return cls(joined, cps, doc_lengths, ends - lengths, ends, word, doc)


PARTS = ("spans", "ngrams")  # what a counting task of a tiled shard computes (both for one task)


def count_tiled(texts: list[str] | Texts, counts: np.ndarray, lengths: np.ndarray, job: ScanJob,
                parts: Sequence[str] = PARTS) -> ShardResult:
    """Words, runs and n-grams of a shard whose segmentation tiles it (`_tiling`): words and runs are counted as
    spans of the joined text (`spans.count_spans`), the word boundaries are those of the n-gram count. `parts`:
    `spans` (words, runs and sizes) and/or `ngrams`; the pool runs them as two tasks, so that the worker done
    with its share early takes the spans of the shard whose n-grams another worker counts."""
    t = _Tiled.build(texts, counts, lengths)
    result = ShardResult()
    if "spans" in parts:
        cps, n_docs = t.cps, len(t.doc_lengths)
        result.documents, result.chars, result.bytes = n_docs, len(cps) - n_docs, _utf8_bytes(cps) - n_docs
        starts, ends = t.starts[t.word], t.ends[t.word]
        result.words, result.word_docs = count_spans(t.joined, cps, starts, ends, t.doc[starts])
        han = char_classes(cps, [HAN_RUN]).astype(bool)
        edge = np.diff(np.concatenate([[0], han.view(np.int8), [0]]))
        run_starts, run_ends = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)
        result.runs, _ = count_spans(t.joined, cps, run_starts, run_ends)
        result.run_han_chars = int((run_ends - run_starts).sum())
    if "ngrams" in parts:
        bounds = np.zeros(len(t.cps) + 1, dtype=bool)
        bounds[0] = True
        bounds[t.ends] = True
        result.ngrams = count_ngrams_at(t.cps, t.doc, job.max_n, job.prune_below, bounds)
    return result


def _scan_words(result: ShardResult, texts: list[str], pieces: list[list[str]], job: ScanJob) -> None:
    """Words, runs and n-grams with Counters of the pieces (segmenters whose pieces skip characters). One Counter
    call per column for the whole shard (first-seen order, hence ties downstream, as with one update per
    document)."""
    result.words.update(chain.from_iterable(pieces))
    result.word_docs.update(chain.from_iterable(map(set, pieces)))
    result.runs.update(chain.from_iterable(map(HAN_RUN.findall, texts)))
    lengths: list[int] | None = None
    if job.lang == "zh":  # word lengths, each document followed by the newline that joins it in `count_ngrams`
        lengths = list(chain.from_iterable(chain(map(len, words), (1,)) for words in pieces))
    result.run_han_chars = sum(len(r) * c for r, c in result.runs.items())
    result.ngrams = count_ngrams(texts, job.max_n, job.prune_below, lengths)


def run_scan(batches: Iterable[list[str]], job: ScanJob, workers: int, run_cap: int, tokens: Tokens | None = None,
             progress: bool = False, while_waiting: Callable[[], None] | None = None) -> ShardResult:
    """Reduce step: merge shard results as they arrive, with at most 2 * workers shards in flight (bounded memory);
    n-gram tables are merged `MERGE_EVERY` shards at a time. `tokens(texts) -> (tokens, flagged)` counts each
    shard's base tokens in this process while the workers scan it; `while_waiting`: work for this process that the
    corpus does not decide (loading the tokenizer), called once, as soon as every worker has a shard (before the
    scan with one worker)."""
    total = ShardResult()
    pending: list[NgramCounts] = []
    bar = _progress_bar(progress)
    for shard in _map(batches, job, workers, tokens, while_waiting):
        pending.append(shard.ngrams)
        shard.ngrams = NgramCounts()
        total.merge(shard, run_cap)
        if len(pending) >= MERGE_EVERY:
            total.ngrams = merge_all([total.ngrams, *pending])
            pending = []
        if bar is not None:
            bar.update(shard.chars)
    total.ngrams = merge_all([total.ngrams, *pending])
    total.words = keep_words(total.words)
    total.word_docs = Counter({w: total.word_docs[w] for w in total.words})
    if bar is not None:
        bar.close()
    return total


def _map(batches: Iterable[list[str]], job: ScanJob, workers: int, tokens: Tokens | None,
         while_waiting: Callable[[], None] | None) -> Iterator[ShardResult]:
    """Shard results in shard order (merging in order keeps every Counter's order, hence ties, the same).

    With a pool, this process reads the corpus and hands out shards; once every worker has one it counts the
    tokens of the shards handed out while the workers segment them and count n-grams (the tokenizer is loaded
    then, so its load overlaps the scan too). Workers are forked: they inherit the segmenter's dictionary instead
    of loading it."""
    if workers <= 1:
        if while_waiting is not None:
            while_waiting()
        for texts in batches:
            result = scan_shard(texts, job)
            if tokens is not None:
                result.tokens, result.flagged_tokens = tokens(texts)
            yield result
        return
    try:
        directory: str | None = spill_dir()
    except OSError:  # no temporary directory: texts and results travel through the pool's pipes
        directory = None
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            pending: deque[_Pending] = deque()

            def own_work() -> None:
                """Once every worker has work: this process's share (the hook, then pending token counts). The hook
                (loading the tokenizer) waits for the first shard's count to be handed out: it holds the GIL for
                long stretches (a tokenizer parsed in Rust), which would hold up the pool's result thread,
                hence the hand-out, with the workers idle; once the counts are out, the workers have work queued
                that needs nothing from this process until the next shard's segmentation is done."""
                nonlocal while_waiting
                if while_waiting is not None:
                    pending[0].handed_out.wait()
                    while_waiting()
                    while_waiting = None
                for item in pending:
                    if item.texts_for_tokens is not None:
                        item.tokens = tokens(item.texts_for_tokens) if tokens is not None else None
                        item.texts_for_tokens = None

            for texts in batches:
                pending.append(_Pending(pool, texts, job, directory))
                if len(pending) >= workers:
                    own_work()
                while len(pending) >= 2 * workers:
                    yield _finish(pending)
            own_work()
            while pending:
                yield _finish(pending)
    finally:
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)




class _Pending:
    """A shard handed to the pool. For Chinese, two counting tasks over the whole shard (its n-grams; its words and
    runs), each segmenting the shard itself with the compiled jieba (a few percent of its time); both go out at
    once. Other languages scan a shard in one task."""

    def __init__(self, pool, texts: list[str], job: ScanJob, directory: str | None) -> None:
        self.texts_for_tokens: list[str] | None = texts  # None once tokens are counted
        self.texts = Texts.store(texts, directory)  # what the tasks carry: a path and lengths
        self.tokens: tuple[int, int] | None = None
        self.handed_out = threading.Event()  # set once the tasks are out
        if job.lang != "zh":
            self.count = [pool.apply_async(_scan_task, (self.texts, job, directory))]
        else:  # the n-grams first (the longest)
            self.count = [pool.apply_async(_count_task, (self.texts, job, directory, part))
                          for part in reversed(PARTS)]
        self.handed_out.set()

    def wait_count(self) -> list:
        return self.count


def _finish(pending: deque[_Pending]) -> ShardResult:
    """The oldest shard's result."""
    item = pending.popleft()
    try:
        results = [load(task.get()) for task in item.wait_count()]
    finally:
        item.texts.release()
    result = results[-1]
    if len(results) == 2:  # a tiled count's two parts: n-grams, then spans
        result.ngrams = results[0].ngrams
    if item.tokens is not None:
        result.tokens, result.flagged_tokens = item.tokens
    return result


def _progress_bar(progress: bool):
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(unit="char", unit_scale=True, desc="analyze: scanning", leave=False)
