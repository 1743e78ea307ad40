"""`bench`: measure any number of tokenizers on any number of corpora and write the report directory.

`bench(config)` loads and reads everything named in a `BenchConfig`; `bench_samples` is the same measurement
over tokenizers and texts already in memory (a benchmark script's hold-out slice, tests).
"""

from __future__ import annotations

import logging
import os
import platform
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from vocabx.adapters import SUPPORTED, TokenizerAdapter, load_tokenizer
from vocabx.bench.labels import corpus_label, split_label, unique_labels
from vocabx.bench.metrics import CorpusSample, PairMetrics, measure, relate
from vocabx.bench.result import BenchResult, CorpusEntry, TokenizerEntry, merge_eval, read_eval
from vocabx.bench.throughput import MODES, measure_throughput, threads_used
from vocabx.bench.words import DESCRIPTION
from vocabx.config import documented, text_field_option
from vocabx.errors import CorpusError, TokenizerError, UsageError, VocabxError
from vocabx.outputs import check_output_dir
from vocabx.progress import step

log = logging.getLogger(__name__)

CORPUS_FLAGS = (("text_field", "--text-field {}"), ("max_chars", "--max-chars {}"), ("max_docs", "--max-docs {}"))
T = TypeVar("T")


@dataclass
class BenchConfig:
    """What `vocabx bench` compares, on what, and where the report goes; each field is a flag of the same name."""

    tokenizers: tuple[str, ...] = documented(
        "Tokenizer specs (anything `load_tokenizer` accepts), each optionally labelled `NAME=SPEC`.", (),
        metavar="[NAME=]TOKENIZER...")
    corpora: tuple[str, ...] = documented(
        "A corpus to measure on (file, directory, glob, hf:org/name, card name), optionally labelled `NAME=SPEC`; "
        "repeat for several.", (), flag="corpus", metavar="[NAME=]CORPUS")
    out: str | None = documented(
        "Write bench.json, bench.md, charts and manifest.json here (refused if it exists, unless --force); "
        "none: measure and write nothing.")
    reference: str | None = documented(
        "Label (or spec) of the tokenizer the ratios are taken against; default: the first tokenizer.")
    context: int = documented("Context window in tokens for the characters-per-window figure.", 2048)
    text_field: str | None = text_field_option("every --corpus")
    max_chars: int | None = documented("Read at most this many characters of each corpus (bounds the work).")
    max_docs: int | None = documented("Read at most this many documents of each corpus.")
    repeats: int = documented("Timed encode runs per pair and mode (the best counts); 0 skips timing.", 3)
    charts: bool = documented("Write PNG charts (chars/token and context gain per corpus) into --out.", True)
    eval: str | None = documented("eval.json from `vocabx eval`: its per-pair figures join the report as extra columns.")
    force: bool = documented("Replace an existing output directory.", False)

    def __post_init__(self) -> None:
        if not self.tokenizers:
            raise UsageError("no tokenizer given", hint="name at least one, e.g. `vocabx bench smollm2 --corpus corpus.txt`")
        if not self.corpora:
            raise UsageError("no corpus given", hint="pass --corpus PATH (repeat it for several corpora)")
        if self.context <= 0:
            raise UsageError(f"context must be a positive number of tokens, got {self.context}", hint="e.g. --context 2048")
        if self.repeats < 0:
            raise UsageError(f"repeats must be >= 0, got {self.repeats}", hint="use 0 to skip timing, 3 for best-of-3")
        for name in ("max_chars", "max_docs"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise UsageError(f"{name} must be positive, got {value}", hint=f"drop --{name.replace('_', '-')} for no limit")
        if self.eval is not None and not Path(self.eval).is_file():
            raise UsageError(f"eval file {self.eval} does not exist", hint="pass the eval.json that `vocabx eval` wrote")


def load_tokenizers(specs: Sequence[str], progress: bool = False) -> list[tuple[str, str, TokenizerAdapter]]:
    """(label, spec, adapter) for each `[NAME=]SPEC`; a spec that fails to load raises naming that spec."""
    loaded: list[tuple[str | None, str, TokenizerAdapter]] = []
    for text in specs:
        name, spec = split_label(text)
        try:
            with step(f"loading tokenizer {text}", progress):
                adapter = load_tokenizer(spec)
        except VocabxError as exc:
            raise TokenizerError(f"tokenizer {spec!r} failed to load: {exc.message}", hint=exc.hint) from exc
        except Exception as exc:  # a third-party parser failing in its own way: still one line naming the spec
            first_line = next(iter(str(exc).splitlines()), "")[:200]
            raise TokenizerError(
                f"tokenizer {spec!r} failed to load ({type(exc).__name__}: {first_line})", hint=f"expected {SUPPORTED}"
            ) from exc
        loaded.append((name, spec, adapter))
    labels = unique_labels([name or adapter.name for name, _, adapter in loaded])
    return [(label, spec, adapter) for label, (_, spec, adapter) in zip(labels, loaded)]


def resolve_reference(reference: str | None, labels: Sequence[str], specs: Sequence[str]) -> str:
    """The reference's label: the first tokenizer by default, else the one whose label or spec matches."""
    if reference is None:
        return labels[0]
    if reference in labels:
        return reference
    if reference in specs:
        return labels[list(specs).index(reference)]
    raise UsageError(f"reference {reference!r} is not one of the benchmarked tokenizers", hint=f"use one of: {', '.join(labels)}")


def read_corpora(config: BenchConfig, progress: bool = False) -> tuple[list[CorpusSample], list[dict]]:
    """Read each corpus (within the limits) into memory once, with its word count; every tokenizer then sees the
    same texts."""
    from vocabx.corpus import CorpusConfig, open_corpus

    parsed = [split_label(text) for text in config.corpora]
    labels = unique_labels([name or corpus_label(spec) for name, spec in parsed])
    samples, details = [], []
    for label, (_, spec) in zip(labels, parsed):
        with step(f"reading corpus {label} (and counting its words)", progress):
            corpus = open_corpus(spec, CorpusConfig(text_field=config.text_field, max_chars=config.max_chars,
                                                    max_docs=config.max_docs, flags=CORPUS_FLAGS))
            docs = list(corpus)
            samples.append(CorpusSample.from_texts(label, spec, [d.text for d in docs], [d.source for d in docs]))
        details.append({"inputs": corpus.describe(), "stats": corpus.stats.as_dict()})
    return samples, details


def machine() -> str:
    """The machine in words, as reports quote it (`2-core CPU, 24 GB`)."""
    try:
        import psutil

        memory = f", {psutil.virtual_memory().total / 2**30:.0f} GB"
    except ImportError:
        memory = ""
    return f"{os.cpu_count()}-core CPU{memory} ({platform.machine()})"


def _corpus_entry(sample: CorpusSample, details: dict | None) -> CorpusEntry:
    return CorpusEntry(
        label=sample.label,
        spec=sample.spec,
        documents=sample.documents,
        chars=sample.chars,
        bytes=sample.bytes,
        words=sample.words,
        han_share=sample.han_chars / sample.chars if sample.chars else 0.0,
        segmenter=sample.segmenter,
        details=details or {},
    )


def bench_samples(
    tokenizers: Sequence[tuple[str, TokenizerAdapter]],
    samples: Sequence[CorpusSample],
    *,
    reference: str | None = None,
    context: int = 2048,
    repeats: int = 3,
    specs: Sequence[str] | None = None,
    corpus_details: Sequence[dict | None] | None = None,
    progress: bool = False,
) -> BenchResult:
    """Measure every (tokenizer, corpus) pair; tokenizers are (label, adapter) with unique labels."""
    labels = [label for label, _ in tokenizers]
    corpus_labels = [s.label for s in samples]
    if not labels or not samples:
        raise UsageError("bench needs at least one tokenizer and one corpus", hint="pass both")
    for kind, names in (("tokenizer", labels), ("corpus", corpus_labels)):
        if len(set(names)) != len(names):
            raise UsageError(f"{kind} labels must be unique, got {names}", hint="name them with NAME=SPEC")
    specs = list(specs or [adapter.source for _, adapter in tokenizers])
    ref = resolve_reference(reference, labels, specs)
    for sample in samples:
        if not sample.documents:
            raise CorpusError(f"corpus {sample.spec!r} has no text to benchmark", hint="check the path, --text-field and the limits")
    environment = threads_used()  # before the timed runs, so the load average is that of the machine, not ours
    rows = _measure_pairs(tokenizers, samples, repeats, progress)
    by_pair = {(r.tokenizer, r.corpus): r for r in rows}
    for row in rows:
        relate(row, by_pair[(ref, row.corpus)], context)
    return BenchResult(
        reference=ref,
        context=context,
        tokenizers=[
            TokenizerEntry(label, spec, adapter.family, adapter.vocab_size, adapter.source)
            for (label, adapter), spec in zip(tokenizers, specs)
        ],
        corpora=[_corpus_entry(s, d) for s, d in zip(samples, corpus_details or [None] * len(samples))],
        rows=rows,
        word_splitter=DESCRIPTION,
        throughput={"repeats": repeats, "modes": MODES if repeats else "not measured", "machine": machine(), **environment},
    )


def _measure_pairs(
    tokenizers: Sequence[tuple[str, TokenizerAdapter]], samples: Sequence[CorpusSample], repeats: int, progress: bool
) -> list[PairMetrics]:
    """Counts, round trip and (when `repeats`) throughput of every pair, corpus by corpus."""
    pairs = [(label, adapter, sample) for sample in samples for label, adapter in tokenizers]
    rows: list[PairMetrics] = []
    bar = _progress(pairs, progress)
    for label, adapter, sample in bar:
        if hasattr(bar, "set_postfix_str"):  # the bar names the pair it is measuring
            bar.set_postfix_str(f"{label} on {sample.label}")
        log.info("measuring %s on %s (%d documents)", label, sample.label, sample.documents)
        row = measure(label, adapter, sample)
        if repeats:
            speed = measure_throughput(adapter, sample.texts, sample.bytes, repeats)
            row.single_mb_s, row.batch_mb_s = speed.single_mb_s, speed.batch_mb_s
        rows.append(row)
    return rows


def _progress(items: list[T], enabled: bool) -> Iterable[T]:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc="bench", unit="pair")


def bench(config: BenchConfig, progress: bool = False) -> BenchResult:
    """Load the tokenizers, read the corpora, measure every pair, merge eval columns, write the report if `out`."""
    out = None
    if config.out is not None:
        inputs = [split_label(t)[1] for t in (*config.tokenizers, *config.corpora)]
        out = check_output_dir(config.out, force=config.force, inputs=inputs)
    eval_records = read_eval(config.eval) if config.eval is not None else None  # a bad file fails before measuring
    tokenizers = load_tokenizers(config.tokenizers, progress)
    labels, specs = [t[0] for t in tokenizers], [t[1] for t in tokenizers]
    resolve_reference(config.reference, labels, specs)  # a wrong --reference fails before any corpus is read
    samples, details = read_corpora(config, progress)
    result = bench_samples(
        [(label, adapter) for label, _, adapter in tokenizers], samples, reference=config.reference,
        context=config.context, repeats=config.repeats, specs=specs, corpus_details=details,
        progress=progress,
    )
    if eval_records is not None:
        counts = merge_eval(result, eval_records)
        log.info("merged eval columns into %d rows (%d records matched no row)", counts["merged"], counts["unmatched"])
    if out is not None:
        from vocabx.bench.writer import write_report

        result.out = str(out)
        with step(f"writing {out}", progress):
            write_report(result, config, out, tokenizer_files=[adapter.source for _, _, adapter in tokenizers])
    return result
