"""`analyze(config)`: learn the vocabulary plan that saves the most tokens on a corpus (term-shaped, scored out of
sample), rank the corpus's candidate terms by termhood for people, and measure how the base tokenizer fragments
it; writes `plan.tsv`, `terms.tsv`, `report.json` and `manifest.json` into a new output directory (atomically)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vocabx.errors import UsageError

log = logging.getLogger(__name__)

BUDGETS = (1000, 2000, 5000, 10000, 20000)  # new entries after which chars/token is projected
SCORINGS = ("both-parts", "tokens", "min")


@dataclass
class AnalyzeConfig:
    """Configuration of `vocabx analyze`; each field is a flag of the same name."""

    corpus: tuple[str, ...] = field(default=(), metadata={"help": "Corpus specs: files, dirs, globs, hf:org/name, card names."})
    tokenizer: str = field(default="", metadata={"help": "Base tokenizer: dir, tokenizer.json, .model, .gguf, built-in name, hub id."})
    out: str = field(default="", metadata={"help": "Output directory (must not exist unless force)."})
    reference: tuple[str, ...] = field(default=(), metadata={"help": "General-language corpora for domain specificity; default for zh: jieba's dict.txt."})
    lang: Literal["auto", "zh", "other"] = field(default="auto", metadata={"help": "zh (jieba + Han n-grams) or other (Unicode words); auto: zh if most letters are Han."})
    min_freq: int = field(default=5, metadata={"help": "Minimum corpus frequency of a candidate term."})
    max_len: int = field(default=6, metadata={"help": "Longest Han candidate term in characters."})
    top: int = field(default=20000, metadata={"help": "Candidate terms (by termhood) written to terms.tsv besides the plan's entries (0: all)."})
    workers: int = field(default=0, metadata={"help": "Worker processes for the corpus pass (0: all cores)."})
    text_field: str | None = field(default=None, metadata={"help": "JSON key / CSV column(s) with the text, comma-separated."})
    skip_bad_records: bool = field(default=False, metadata={"help": "Skip malformed records instead of stopping."})
    shape: bool = field(default=True, metadata={"help": "Term shape for the plan: no new token spans punctuation, a space or a line break, or starts or ends in a function character of its neighbour (的范围); --no-shape learns like plain continued BPE."})
    scoring: Literal["both-parts", "tokens", "min"] = field(default="both-parts", metadata={"help": "How the plan scores a merge from its counts in the two halves of the documents (even/odd): both-parts (count where both halves hold it), tokens (plain BPE count), min (2 x the smaller half)."})
    min_cohesion: float = field(default=2.0, metadata={"help": "Minimum PMI (nats, weakest split) for a discovered n-gram."})
    min_entropy: float = field(default=1.0, metadata={"help": "Minimum left and right branching entropy (nats) for a discovered n-gram."})
    heldout: tuple[str, ...] = field(default=(), metadata={"help": "Text from other sources to project chars/token on as well: the plan's entries are added for real (the extender's code) and the text re-tokenized, per budget."})
    budgets: tuple[int, ...] = field(default=BUDGETS, metadata={"help": "New vocabulary entries after which chars/token is projected; the plan holds up to the largest."})
    shard_chars: int = field(default=1 << 20, metadata={"help": "Characters per shard of the corpus pass."})
    force: bool = field(default=False, metadata={"help": "Replace an existing output directory."})

    def __post_init__(self) -> None:
        for name in ("min_freq", "max_len", "shard_chars"):
            if getattr(self, name) < 1 or (name == "max_len" and self.max_len < 2):
                raise UsageError(f"{name} must be positive (max_len >= 2), got {getattr(self, name)}",
                                 hint=f"pass a larger --{name.replace('_', '-')}")
        if self.lang not in ("auto", "zh", "other"):
            raise UsageError(f"unknown lang {self.lang!r}", hint="use auto, zh or other")
        if self.scoring not in SCORINGS:
            raise UsageError(f"unknown scoring {self.scoring!r}", hint=f"use one of: {', '.join(SCORINGS)}")
        if any(b < 1 for b in self.budgets):
            raise UsageError(f"budgets must be positive, got {self.budgets}", hint="pass --budgets 1000,5000")
        if self.top < 0 or self.workers < 0:
            raise UsageError("top and workers must be >= 0", hint="0 means all")
        self.corpus, self.reference, self.budgets = tuple(self.corpus), tuple(self.reference), tuple(self.budgets)
        self.heldout = tuple(self.heldout)


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

