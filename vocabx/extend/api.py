"""`extend(config)`: the library call behind `vocabx extend`. Resolves BASE, reads TERMS, picks the family's extender,
checks the guarantees on the files as written, and writes OUT atomically with its `manifest.json`.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
import typing
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from vocabx.adapters import load_tokenizer
from vocabx.adapters.base import TokenizerAdapter
from vocabx.config import check_choices, documented, text_field_option
from vocabx.errors import GuaranteeError, UsageError
from vocabx.extend.base import Extender, Extension
from vocabx.extend.entries import read_entries, write_entries
from vocabx.extend.registry import Mode, get_extender
from vocabx.extend.rows import check_embeddings, new_rows_record
from vocabx.extend.terms import TermList, read_terms
from vocabx.extend.verify import Check, VerifyInputs, VerifyReport, new_ids, verify
from vocabx.model.methods import DEFAULT_INIT, InputMethod, OutputMethod
from vocabx.outputs import MANIFEST_NAME, atomic_output_dir, build_manifest, check_output_dir, write_json

if TYPE_CHECKING:
    from vocabx.analyze.plan import Plan

log = logging.getLogger(__name__)

# A failed guarantee stops extend (nothing written). These two may be allowed by name (--allow-failed): a term
# no text produces, or a document some extension makes longer, leaves a tokenizer that still works. The others
# (ids_kept, lossless, fast_slow_agree, deterministic, embeddings) mean a broken output and are never allowed.
Allowable = Literal["reachable", "never_longer"]
ALLOWABLE: tuple[str, ...] = typing.get_args(Allowable)
# Every manifest carries these counts, zero or not, so runs compare key by key.
SKIP_KEYS = ("already_present", "crosses_pretoken_boundary", "unreachable", "over_budget", "invalid", "duplicate")


@dataclass(kw_only=True)
class ExtendConfig:
    """`vocabx extend BASE --terms TERMS --budget N --out OUT`; each field is a flag of the same name."""

    base: str = documented("Tokenizer or model to extend: anything `analyze --tokenizer` accepts, or smollm2-135m.",
                           "")
    out: str = documented("Output directory: a tokenizer directory, plus weights when BASE is a model (refused if it "
                          "exists, unless --force).", "")
    budget: int | None = documented("New vocabulary entries to add, intermediates included.")
    terms: str | None = documented("An analyze output dir, its terms.tsv, or a list, one term per line.")
    corpus: tuple[str, ...] = documented(
        "Domain text for choosing entries and for the checks; default: the analyze run's corpus.", ())
    text_field: str | None = text_field_option(
        "--corpus and --general", " Default for the analysis's corpus: the field the analysis read.")
    corpus_max_chars: int | None = documented("Read at most this many corpus characters.")
    general: tuple[str, ...] = documented("General-text corpora for the never-longer check.", ())
    mode: Mode = documented(
        "terms: the ranked terms; train: learn entries from the corpus (continued BPE); added-tokens: the add_tokens "
        "fallback; merge: the Chinese-LLaMA piece merge (SentencePiece).", "terms")
    init: InputMethod = documented(
        "How new embedding rows are initialized (model bases): subword-mean keeps a tied head tied; see "
        "vocabx.model.methods for each method.", DEFAULT_INIT)
    init_output: OutputMethod | None = documented(
        "Output-side (lm_head) init when it differs from --init (unties a tied head); best measured without "
        "training: --init subword-last --init-output subword-first.")
    pad_to_multiple_of: int | None = documented(
        "Pad the embedding rows to a multiple of this (model bases), e.g. 64: matmul shapes that GPU tensor cores "
        "and kernels handle at full speed.")
    check_docs: int = documented("Documents per corpus the guarantee checks encode.", 1000)
    allow_failed: tuple[Allowable, ...] = documented(
        "Write OUT even if this guarantee fails (repeatable); it is recorded as failed in the manifest. Any other "
        "failure always stops extend.", ())
    force: bool = documented("Replace OUT if it exists.", False)

    def __post_init__(self) -> None:
        self.allow_failed = tuple(self.allow_failed)
        self.corpus, self.general = tuple(self.corpus), tuple(self.general)
        check_choices(self)
        if not self.base:
            raise UsageError("no base given", hint="pass BASE: a tokenizer or a model (e.g. smollm2-135m)")
        if not self.out:
            raise UsageError("no output directory given", hint="pass --out DIR")
        if self.budget is None:
            raise UsageError("no budget given", hint="pass --budget N, the number of new vocabulary entries")
        if self.budget <= 0:
            raise UsageError(f"budget must be positive, got {self.budget}", hint="pass --budget N with N >= 1")
        if self.pad_to_multiple_of is not None and self.pad_to_multiple_of <= 0:
            raise UsageError(f"--pad-to-multiple-of must be positive, got {self.pad_to_multiple_of}", hint="e.g. 64")
        if self.check_docs < 0:
            raise UsageError(f"check_docs must be >= 0, got {self.check_docs}", hint="e.g. 2000")


@dataclass
class ExtendResult:
    """What `extend` did: where, how much, what it skipped and why, and the guarantee checks."""

    out: Path
    family: str
    counts: dict[str, int]
    skipped_examples: dict[str, list[str]]
    notes: list[str]
    checks: dict[str, Any]
    files: list[str]
    model: dict[str, Any] | None = None
    seconds: float = 0.0


def extend(config: ExtendConfig, progress: bool = False) -> ExtendResult:
    """Extend BASE with up to `budget` entries and write OUT; see `ExtendConfig`."""
    start = time.perf_counter()
    base = load_tokenizer(config.base)
    term_list = read_terms(config.terms) if config.terms else None
    if term_list is None and config.mode != "train":
        raise UsageError("no terms given", hint="pass --terms (an analyze dir, terms.tsv or a list), or --mode train")
    # Without --corpus, the analysis run's corpus, read as it was read there (its --text-field and all).
    recorded = term_list.corpus if term_list is not None and not config.corpus else None
    corpus_specs = config.corpus or (recorded.specs if recorded else ())
    inputs = [config.base, base.source, *([config.terms] if config.terms else []), *corpus_specs, *config.general]
    out = check_output_dir(config.out, force=config.force, inputs=inputs)
    text_field = config.text_field or (recorded.text_field if recorded else None)
    skip_bad_records = bool(recorded and recorded.skip_bad_records)
    reading = {"specs": list(corpus_specs), "from": "analysis" if recorded else "--corpus" if config.corpus else None,
               "text_field": text_field, "skip_bad_records": skip_bad_records}
    corpus = read_corpus(corpus_specs, config.corpus_max_chars, text_field=text_field,
                         skip_bad_records=skip_bad_records)
    extender = get_extender(base.family, config.mode, progress)
    plan = matching_plan(config.terms, base) if config.mode == "terms" and config.terms else None
    if plan is not None:  # the analysis learned this tokenizer's entries: add exactly those (as it projected)
        extension = extender.extend_plan(base, plan, config.budget)  # type: ignore[arg-type]
    else:
        extension = extender.extend(base, term_list.terms if term_list else [], config.budget, corpus or None)  # type: ignore[arg-type]
    extension.notes.extend(recorded.notes if recorded else [])
    result = _write(out, config, extender, extension, term_list, corpus, progress, inputs, reading)
    result.seconds = round(time.perf_counter() - start, 2)
    return result


def matching_plan(terms: str, base: TokenizerAdapter) -> Plan | None:
    """The plan in an analysis directory when it was learned on `base` (same vocabulary fingerprint), else None:
    another tokenizer takes the ranked terms instead."""
    from vocabx.analyze.plan import PLAN_FILE, fingerprint, read_plan

    path = Path(terms).expanduser() / PLAN_FILE
    if not path.is_file():
        return None
    plan = read_plan(path)
    if plan.fingerprint != fingerprint(base):
        log.info("%s was learned on another tokenizer; extending from the ranked terms", path)
        return None
    return plan


def _write(
    out: Path, config: ExtendConfig, extender: Extender, extension: Extension, term_list: TermList | None,
    corpus: list[str], progress: bool, inputs: Sequence[str], reading: dict[str, Any],
) -> ExtendResult:
    """Save, check the files as written, grow the model when BASE has weights, and record the manifest; atomically."""
    skipped = _all_skips(term_list, extension)
    counts = _counts(extension, term_list, skipped)
    with atomic_output_dir(out, force=config.force, inputs=inputs) as tmp:
        files = sorted([*extender.save(extension, tmp), write_entries(extension.added, tmp)])
        report = _check(extension, tmp, corpus, config)
        report.checks.append(_check_deterministic(extender, extension, tmp, files))
        model = None
        if _is_model(config.base):
            model = _extend_model(config, extension, tmp, corpus, progress)
            written = extension.base.load_saved(tmp)
            model["new_rows"] = new_rows_record(tmp, written, extension.base.vocab_size)
            report.checks.append(check_embeddings(tmp, written, model["new_rows"]))
        _refuse_if_broken(report, config.allow_failed)
        files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
        # Where OUT is and whether it was replaced do not shape its content: left out, so reruns are byte-identical.
        recorded = {k: v for k, v in asdict(config).items() if k not in ("out", "force")}
        manifest = build_manifest(
            "extend", recorded, inputs=_inputs(extension.base, config, term_list, reading["specs"]), counts=counts,
            outputs=[*files, MANIFEST_NAME], deterministic=True,
            extra={"family": extension.family, "notes": extension.notes, "guarantees": report.as_dict(), "model": model,
                   "llama_cpp": _llama_cpp_pre(extension.base), "corpus": reading},
        )
        write_json(tmp / MANIFEST_NAME, manifest)
    return ExtendResult(
        out, extension.family, counts, {k: v[:5] for k, v in skipped.items()}, extension.notes, report.as_dict(),
        [*files, MANIFEST_NAME], model,
    )


def _llama_cpp_pre(base: TokenizerAdapter) -> dict[str, Any]:
    """The base's llama.cpp pre-tokenizer type, recorded for `vocabx export gguf` (the extension changes the
    tokenization that llama.cpp's converter would recognize it by)."""
    from vocabx.export.pretok import detect_pre

    return detect_pre(base)


def _is_model(spec: str) -> bool:
    try:
        from vocabx.model.api import is_model
    except ImportError:  # the model side is optional: tokenizer-only extension still works
        return False
    return bool(is_model(spec))


# How `extend` and `verify` let the user set the reading options of --corpus, and of each --general.
TEXT_FIELD_FLAGS = (("text_field", "--text-field {}"),)
CORPUS_FLAGS = (*TEXT_FIELD_FLAGS, ("max_chars", "--corpus-max-chars {}"))
GENERAL_FLAGS = (("text_field", "--general SPEC#{}"),)


def read_corpus(
    specs: Sequence[str], max_chars: int | None = None, max_docs: int | None = None, text_field: str | None = None,
    skip_bad_records: bool = False, flags: tuple[tuple[str, str], ...] = CORPUS_FLAGS,
) -> list[str]:
    """The non-empty document texts of corpus specs (files, dirs, globs, hf ids, card names)."""
    if not specs:
        return []
    from vocabx.corpus import CorpusConfig, open_corpus

    config = CorpusConfig(text_field=text_field, max_chars=max_chars, max_docs=max_docs,
                          skip_bad_records=skip_bad_records, flags=flags)
    return [t for t in open_corpus(list(specs), config).texts() if t]


def read_general(specs: Sequence[str], max_docs: int, text_field: str | None = None) -> dict[str, list[str]]:
    """Each `--general SPEC[#FIELD]` corpus, by its spec as given (`open_corpus` reads the `#FIELD`)."""
    return {spec: read_corpus([spec], max_docs=max_docs, text_field=text_field, flags=GENERAL_FLAGS) for spec in specs}


def _all_skips(term_list: TermList | None, extension: Extension) -> dict[str, list[str]]:
    skipped = {k: list(v) for k, v in (term_list.skipped if term_list else {}).items()}
    for reason, terms in extension.skipped.items():
        skipped.setdefault(reason, []).extend(terms)
    return skipped


def _check(extension: Extension, tmp: Path, corpus: list[str], config: ExtendConfig) -> VerifyReport:
    """Verify the files as written (loaded back from OUT's temporary twin), not the objects in memory."""
    extended = extension.base.load_saved(tmp)  # the same form as the base (tokenizer.model for SentencePiece)
    general = read_general(config.general, config.check_docs, config.text_field)
    terms = {e.id: e.text for e in extension.added if e.kind == "term"}
    inputs = VerifyInputs(domain=corpus[: config.check_docs], general=general, terms=terms, extended_dir=tmp)
    return verify(extension.base, extended, inputs)


def _check_deterministic(extender: Extender, extension: Extension, tmp: Path, files: list[str]) -> Check:
    """Save once more into a scratch dir: every file must be byte-identical (the manifest has no timestamps)."""
    with tempfile.TemporaryDirectory() as scratch:
        extender.save(extension, Path(scratch))
        write_entries(extension.added, Path(scratch))
        differ = [f for f in files if _digest(tmp / f) != _digest(Path(scratch) / f)]
    summary = "saving twice gives byte-identical files" if not differ else f"files differ between saves: {differ}"
    return Check("deterministic", not differ, summary, {"files": len(files)})


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def _refuse_if_broken(report: VerifyReport, allowed: Sequence[str] = ()) -> None:
    """A failed guarantee stops extend before OUT exists, unless it is one the user allowed by name."""
    failed = [c for c in report.checks if c.passed is False and c.name not in allowed]
    if not failed:
        return
    check = failed[0]
    names = ", ".join(c.name for c in failed)
    examples = f"examples: {check.figures.get('examples', [])[:2]}; "
    if all(c.name in ALLOWABLE for c in failed):
        hint = examples + " ".join(f"--allow-failed {c.name}" for c in failed) + " writes it anyway"
    else:
        hint = examples + "please report this with the command line"
    raise GuaranteeError(f"the extension fails {names} ({check.summary}); nothing was written", hint=hint)


def _extend_model(
    config: ExtendConfig, extension: Extension, tmp: Path, corpus: list[str], progress: bool
) -> dict[str, Any]:
    """Grow BASE's weights into OUT (vocabx.model), with every model option of the config."""
    from vocabx.model.api import extend_model

    return extend_model(config.base, extension, tmp, init=config.init, init_output=config.init_output,
                        pad_to_multiple_of=config.pad_to_multiple_of, progress=progress, corpus=corpus)


def _counts(extension: Extension, term_list: TermList | None, skipped: dict[str, list[str]]) -> dict[str, int]:
    counts = dict(extension.counts)
    counts.update({f"skipped_{reason}": len(skipped.get(reason, [])) for reason in SKIP_KEYS})
    counts.update({f"skipped_{reason}": len(v) for reason, v in skipped.items()})
    if term_list is not None:
        counts.update(term_list.counts)
    return dict(sorted(counts.items()))


def _inputs(base: TokenizerAdapter, config: ExtendConfig, term_list: TermList | None, corpus: Sequence[str]) -> list[str]:
    inputs = [base.source if Path(base.source).exists() else config.base]
    if term_list is not None:
        inputs.append(str(term_list.source))
    return [*inputs, *corpus]


@dataclass(kw_only=True)
class VerifyConfig:
    """`vocabx verify BASE EXTENDED`: the guarantee checks on any base/extended pair."""

    base: str = documented("The tokenizer before extension.", "")
    extended: str = documented("The tokenizer after (a vocabx extend OUT, or any tokenizer).", "")
    corpus: tuple[str, ...] = documented("Domain text for the lossless, reachability and length checks.", ())
    text_field: str | None = text_field_option("--corpus and --general")
    general: tuple[str, ...] = documented("General-text corpora for the never-longer check.", ())
    check_docs: int = documented("Documents per corpus to encode.", 1000)
    runtime: Literal["none", "llama.cpp"] = documented(
        "Also check EXTENDED in a serving runtime: llama.cpp exports it to GGUF and compares tokenization, "
        "detokenization and (with weights) greedy generation.", "none")
    generate_tokens: int = documented(
        "Tokens of each greedy generation compared with --runtime llama.cpp (0: none).", 8)
    pre: str | None = documented("llama.cpp pre-tokenizer type, where EXTENDED's manifest does not record it.")

    def __post_init__(self) -> None:
        self.corpus, self.general = tuple(self.corpus), tuple(self.general)
        check_choices(self)
        if not self.base or not self.extended:
            raise UsageError("verify needs BASE and EXTENDED", hint="pass both: `vocabx verify BASE EXTENDED`")


def verify_pair(config: VerifyConfig) -> VerifyReport:
    """Load both tokenizers and the corpora, then run every check (`vocabx.extend.verify`)."""
    base = load_tokenizer(config.base)
    directory = Path(config.extended) if Path(config.extended).is_dir() else None
    extended = base.load_saved(directory) if directory is not None else load_tokenizer(config.extended)
    entries = read_entries(directory) if directory else None
    if entries is not None:
        terms = {e.id: e.text for e in entries if e.kind == "term"}
    else:  # no vocabx listing: every new entry that stands for whole characters should be reachable on its own
        terms = {i: t for i in new_ids(base, extended) if "\ufffd" not in (t := extended.decode([i]))}
    domain = read_corpus(config.corpus, max_docs=config.check_docs, text_field=config.text_field,
                         flags=TEXT_FIELD_FLAGS)
    general = read_general(config.general, config.check_docs, config.text_field)
    report = verify(base, extended, VerifyInputs(domain=domain, general=general, terms=terms, extended_dir=directory))
    report.checks += _deployment_checks(config, base, extended, directory, {"domain": domain, **general})
    report.checks.append(check_embeddings(directory, extended))
    reachable = report.get("reachable")
    if entries is None and reachable is not None and reachable.passed is False:
        # Without new_entries.tsv, intermediates cannot be told from terms: report, do not fail.
        reachable.passed = None
        reachable.summary += " (terms inferred: no new_entries.tsv, so this is informative only)"
    return report


def _deployment_checks(config: VerifyConfig, base: TokenizerAdapter, extended: TokenizerAdapter,
                       directory: Path | None, corpora: dict[str, list[str]]) -> list[Check]:
    """Serving safety (always, on a directory) and, with --runtime llama.cpp, conformance in llama.cpp."""
    from vocabx.export.serving import serving_checks

    added = new_ids(base, extended)
    checks = serving_checks(base, extended, directory, added) if directory is not None else []
    if config.runtime == "llama.cpp":
        from vocabx.export.conformance import runtime_checks
        from vocabx.extend.probes import PROBE_TEXTS, random_unicode

        if directory is None:
            raise UsageError(f"--runtime llama.cpp needs EXTENDED as a directory, got {config.extended}",
                             hint="pass the directory `vocabx extend` wrote")
        texts: dict[str, Sequence[str]] = {**{k: v for k, v in corpora.items() if v}, "probes": list(PROBE_TEXTS),
                                           "random": random_unicode(300, 0)}
        checks += runtime_checks(directory, extended, texts, added, config.generate_tokens, config.pre)
    return checks
