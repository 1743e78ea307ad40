"""`analyze(config)`: learn the vocabulary plan that saves the most tokens on a corpus (term-shaped, scored out of
sample), rank the corpus's candidate terms by termhood for people, and measure how the base tokenizer fragments
it; writes `plan.tsv`, `terms.tsv`, `report.json` and `manifest.json` into a new output directory (atomically)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vocabx.config import check_choices, documented, text_field_option
from vocabx.errors import UsageError

log = logging.getLogger(__name__)

BUDGETS = (1000, 2000, 5000, 10000, 20000)  # new entries after which chars/token is projected
Lang = Literal["auto", "zh", "other"]
Scoring = Literal["both-parts", "tokens", "min"]


@dataclass
class AnalyzeConfig:
    """Configuration of `vocabx analyze`; each field is a flag of the same name (CORPUS is the argument)."""

    corpus: tuple[str, ...] = documented("Corpus specs: files, dirs, globs, hf:org/name, card names.", ())
    tokenizer: str = documented("Base tokenizer: dir, tokenizer.json, .model, .gguf, built-in name, hub id.", "")
    out: str = documented("Output directory for plan.tsv, terms.tsv, report.json (must not exist unless --force).", "")
    reference: tuple[str, ...] = documented(
        "General-language corpus for domain specificity (repeatable); default for zh: jieba's dict.txt.", ())
    lang: Lang = documented("zh (jieba + Han n-grams) or other (Unicode words); auto: zh if most letters are Han.",
                            "auto")
    min_freq: int = documented("Minimum corpus frequency of a candidate term.", 5)
    max_len: int = documented("Longest Han candidate term in characters.", 6)
    top: int = documented("Candidate terms (by termhood) written to terms.tsv besides the plan's entries (0: all).",
                          20000)
    workers: int = documented("Worker processes for the corpus pass (0: all cores).", 0)
    text_field: str | None = text_field_option("CORPUS, --reference and --heldout")
    skip_bad_records: bool = documented("Skip malformed records instead of stopping.", False)
    shape: bool = documented(
        "Term shape for the plan: no new token spans punctuation, a space or a line break, or joins a function "
        "character to the side it does not lean on (的范围, 症状在; 高血压的 and 不要 may be learned); --no-shape learns "
        "like plain continued BPE.", True)
    scoring: Scoring = documented(
        "How the plan scores a merge from its counts in the two halves of the documents (even/odd): both-parts "
        "(count where both halves hold it), tokens (plain BPE count), min (2 x the smaller half).", "both-parts")
    min_cohesion: float = documented("Minimum PMI (nats, weakest split) for a discovered n-gram.", 2.0)
    min_entropy: float = documented("Minimum left and right branching entropy (nats) for a discovered n-gram.", 1.0)
    heldout: tuple[str, ...] = documented(
        "Text from other sources to project chars/token on as well: the plan's entries are added for real (the "
        "extender's code) and the text re-tokenized, per budget.", ())
    budgets: tuple[int, ...] = documented(
        "New vocabulary entries after which chars/token is projected; the plan holds up to the largest.", BUDGETS)
    shard_chars: int = documented("Characters per shard of the corpus pass.", 1 << 20)
    force: bool = documented("Replace an existing output directory.", False)

    def __post_init__(self) -> None:
        self.corpus, self.reference, self.budgets = tuple(self.corpus), tuple(self.reference), tuple(self.budgets)
        self.heldout = tuple(self.heldout)
        check_choices(self)
        for name in ("min_freq", "max_len", "shard_chars"):
            if getattr(self, name) < 1 or (name == "max_len" and self.max_len < 2):
                raise UsageError(f"{name} must be positive (max_len >= 2), got {getattr(self, name)}",
                                 hint=f"pass a larger --{name.replace('_', '-')}")
        if any(b < 1 for b in self.budgets):
            raise UsageError(f"budgets must be positive, got {self.budgets}", hint="pass --budgets 1000,5000")
        if self.top < 0 or self.workers < 0:
            raise UsageError("top and workers must be >= 0", hint="0 means all")


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

