"""`SelectConfig`: what `vocabx select` reads (pool, domain sample, reference), the filters' thresholds, the
deduplication, the balance (budget, per-source cap, replay share) and where it writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vocabx.config import documented as _help
from vocabx.config import text_field_option
from vocabx.errors import UsageError

SCORERS = ("ngram", "fasttext")
ENGINES = ("local", "datatrove")
SCRIPT_NAMES = ("han", "latin", "kana", "hangul", "cyrillic", "arabic", "other_letter")


@dataclass(kw_only=True)
class SelectConfig:
    """`vocabx select POOL... --domain SAMPLE... --out DIR`."""

    pool: tuple[str, ...] = _help(
        "Mixed documents to select from ([NAME=]SPEC: file, dir, glob, hf:org/name, card).", ())
    domain: tuple[str, ...] = _help("A small sample of the domain (at least 30 documents) to learn relevance from.", ())
    out: str = _help("Output directory: domain.jsonl (text, source, pool, score), near_duplicates.tsv, "
                     "report.json/.md, manifest.json.", "")
    reference: tuple[str, ...] = _help(
        "General text to contrast the domain with; default: a random sample of the pool.", ())
    text_field: str | None = text_field_option("POOL, --domain and --reference")
    skip_bad_records: bool = _help("Skip (and count) malformed records instead of stopping.", False)
    scorer: Literal["ngram", "fasttext"] = _help(
        "Relevance model: ngram (log-odds of character n-grams, built in) or fasttext (needs fasttext-wheel).", "ngram")
    min_score: float | None = _help("Relevance threshold; default: calibrated from the sample and the reference.")
    reference_docs: int = _help("Documents of the reference (or pool) sample the model contrasts with.", 5000)
    min_chars: int = _help("Quality: shortest document kept, in characters.", 50)
    max_chars: int | None = _help("Quality: longest document kept, in characters.")
    scripts: str = _help("Quality (language): writing systems kept, comma-separated (han, latin, kana, hangul, "
                         "cyrillic, arabic), `auto` for those of the domain sample, `any` for all.", "auto")
    max_mojibake_share: float = _help(
        "Quality: largest share of U+FFFD, control and Latin-1 supplement characters.", 0.05)
    max_symbol_share: float = _help("Quality: largest share of symbol characters (of non-space characters).", 0.1)
    min_letter_share: float = _help("Quality: smallest share of letters (of non-space characters).", 0.5)
    max_dup_line_share: float = _help("Quality: largest share of characters in lines that repeat an earlier line.", 0.3)
    max_repeated_ngram_share: float = _help(
        "Quality: largest share of 10-character n-grams repeating in the document.", 0.3)
    max_boilerplate_share: float = _help(
        "Quality: largest share of characters in boilerplate lines (legal notices, navigation).", 0.3)
    dedup: bool = _help("Remove exact and near duplicates among the selected documents (MinHash LSH).", True)
    near_dup_threshold: float = _help(
        "Estimated Jaccard similarity of 5-character shingles from which two documents are near duplicates.", 0.7)
    budget_chars: int | None = _help("Keep the highest-scoring domain documents up to this many characters.")
    source_cap: float | None = _help(
        "Largest share of the selected characters any one POOL input may give (0 < S <= 1).")
    replay_share: float = _help("Also write replay.jsonl: general documents making this share of domain + replay, "
                                "for `vocabx train cpt --replay OUT/replay.jsonl --replay-ratio S`.", 0.0)
    engine: Literal["local", "datatrove"] = _help(
        "local: vocabx's streaming workers; datatrove: the same filters as datatrove pipeline steps on its local "
        "executor (the path to its Slurm/Ray executors).", "local")
    workers: int | None = _help("Worker processes; default: the CPU cores (at most 8).")
    seed: int = _help("Seed of the reference sample, the folds and the replay draw.", 42)
    examples: int = _help("Example documents per rejection reason kept in the report.", 3)
    force: bool = _help("Replace an existing --out.", False)

    def __post_init__(self) -> None:
        for name in ("pool", "domain", "reference"):
            if isinstance(getattr(self, name), str):
                setattr(self, name, (getattr(self, name),))
        if not self.pool:
            raise UsageError("no pool given", hint="pass POOL: the files, directories or globs to select from")
        if not self.domain:
            raise UsageError("no domain sample given", hint="pass --domain SAMPLE (at least 30 domain documents)")
        if not self.out:
            raise UsageError("no output directory given", hint="pass --out DIR")
        _choice("scorer", self.scorer, SCORERS)
        _choice("engine", self.engine, ENGINES)
        for name in ("reference_docs", "min_chars", "examples"):
            if getattr(self, name) < (0 if name != "reference_docs" else 1):
                raise UsageError(f"{name} must be positive, got {getattr(self, name)}", hint=f"fix --{_flag(name)}")
        for name in ("max_chars", "budget_chars", "workers"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise UsageError(f"{name} must be positive, got {getattr(self, name)}", hint=f"fix --{_flag(name)}")
        for name in ("max_mojibake_share", "max_symbol_share", "min_letter_share", "max_dup_line_share",
                     "max_repeated_ngram_share", "max_boilerplate_share", "near_dup_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise UsageError(f"{name} must be in [0, 1], got {getattr(self, name)}", hint=f"fix --{_flag(name)}")
        if self.source_cap is not None and not 0.0 < self.source_cap <= 1.0:
            raise UsageError(f"source_cap must be in (0, 1], got {self.source_cap}", hint="e.g. --source-cap 0.5")
        if not 0.0 <= self.replay_share < 1.0:
            raise UsageError(f"replay_share must be in [0, 1), got {self.replay_share}", hint="e.g. --replay-share 0.2")
        self.script_set()  # validates the names

    def script_set(self, sample_scripts: frozenset[str] = frozenset()) -> frozenset[str]:
        """The writing systems kept: the named ones, the sample's (`auto`), or none checked (`any`)."""
        value = self.scripts.strip().lower()
        if value == "any":
            return frozenset()
        if value == "auto":
            return sample_scripts
        names = frozenset(s.strip() for s in value.split(",") if s.strip())
        unknown = sorted(names - set(SCRIPT_NAMES))
        if unknown or not names:
            raise UsageError(f"unknown writing system(s) {', '.join(unknown) or value!r}",
                             hint=f"use auto, any, or some of: {', '.join(SCRIPT_NAMES)}")
        return names


def _flag(name: str) -> str:
    return name.replace("_", "-")


def _choice(name: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise UsageError(f"unknown {name} {value!r}", hint=f"use one of: {', '.join(valid)}")
