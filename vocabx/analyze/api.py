"""`analyze(config)`: mine domain terms from a corpus and measure how the base tokenizer fragments it; writes
`terms.tsv`, `report.json` and `manifest.json` into a new output directory (atomically)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vocabx.analyze.fragmentation import BUDGETS
from vocabx.errors import UsageError

log = logging.getLogger(__name__)


@dataclass
class AnalyzeConfig:
    """Configuration of `vocabx analyze`; each field is a flag of the same name."""

    corpus: tuple[str, ...] = field(default=(), metadata={"help": "Corpus specs: files, dirs, globs, hf:org/name, card names."})
    tokenizer: str = field(default="", metadata={"help": "Base tokenizer: dir, tokenizer.json, .model, .gguf, built-in name, hub id."})
    out: str = field(default="", metadata={"help": "Output directory (must not exist unless force)."})
    reference: tuple[str, ...] = field(default=(), metadata={"help": "General-language corpora for domain specificity; default for zh: jieba's dict.txt."})
    lang: Literal["auto", "zh", "other"] = field(default="auto", metadata={"help": "zh (jieba + Han n-grams) or other (Unicode words); auto: zh if most letters are Han."})
    min_freq: int = field(default=5, metadata={"help": "Minimum corpus frequency of a candidate."})
    max_len: int = field(default=6, metadata={"help": "Longest Han candidate in characters."})
    top: int = field(default=20000, metadata={"help": "Terms written to terms.tsv (0: all candidates)."})
    workers: int = field(default=0, metadata={"help": "Worker processes for the corpus pass (0: all cores)."})
    text_field: str | None = field(default=None, metadata={"help": "JSON key / CSV column(s) with the text, comma-separated."})
    skip_bad_records: bool = field(default=False, metadata={"help": "Skip malformed records instead of stopping."})
    objective: Literal["domain", "tokens"] = field(default="domain", metadata={"help": "domain: terms first (termhood gate), ranked by log-odds against the reference x log(freq); tokens: greedy overlap-aware token saving."})
    min_cohesion: float = field(default=2.0, metadata={"help": "Minimum PMI (nats, weakest split) for a discovered n-gram."})
    min_entropy: float = field(default=1.0, metadata={"help": "Minimum left and right branching entropy (nats) for a discovered n-gram."})
    budgets: tuple[int, ...] = field(default=BUDGETS, metadata={"help": "Numbers of new terms for the chars/token projection."})
    shard_chars: int = field(default=1 << 20, metadata={"help": "Characters per shard of the corpus pass."})
    sample_chars: int = field(default=10_000_000, metadata={"help": "Han characters of distinct runs kept for selection and projection (whole shards; a sample beyond this). About 50 bytes each at peak."})
    force: bool = field(default=False, metadata={"help": "Replace an existing output directory."})

    def __post_init__(self) -> None:
        for name in ("min_freq", "max_len", "shard_chars"):
            if getattr(self, name) < 1 or (name == "max_len" and self.max_len < 2):
                raise UsageError(f"{name} must be positive (max_len >= 2), got {getattr(self, name)}",
                                 hint=f"pass a larger --{name.replace('_', '-')}")
        if self.lang not in ("auto", "zh", "other"):
            raise UsageError(f"unknown lang {self.lang!r}", hint="use auto, zh or other")
        if self.objective not in ("domain", "tokens"):
            raise UsageError(f"unknown objective {self.objective!r}", hint="use domain or tokens")
        if self.top < 0 or self.workers < 0:
            raise UsageError("top and workers must be >= 0", hint="0 means all")
        self.corpus, self.reference, self.budgets = tuple(self.corpus), tuple(self.reference), tuple(self.budgets)


@dataclass
class AnalyzeResult:
    """What `analyze` found: the output directory, the report, the top terms, counts and stage timings."""

    out: Path
    report: dict[str, Any]
    top_terms: list[dict[str, Any]]
    counts: dict[str, Any]
    timings: dict[str, float]
    cpu_timings: dict[str, float] = field(default_factory=dict)  # per stage, workers included (not in the outputs)


def analyze(config: AnalyzeConfig, progress: bool = False) -> AnalyzeResult:
    """Run the whole analysis and write the output directory (see the module docstring)."""
    from vocabx.analyze.run import Run

    return Run(config, progress).execute()

