"""Reading TERMS for `vocabx extend`: an analyze output directory, its `terms.tsv`, or a plain list, one per line;
with validation that counts what it skips (whitespace, control characters, empty lines, duplicates).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from vocabx.errors import UsageError
from vocabx.extend.recorded import RecordedCorpus, recorded_corpus

log = logging.getLogger(__name__)

TERMS_FILE = "terms.tsv"
# Zero-width joiners are part of emoji and Indic spellings; every other format or control character is noise.
_ALLOWED_FORMAT = {"\u200c", "\u200d"}


@dataclass
class TermList:
    """The valid terms in rank order, what was skipped and why, and the corpus the analysis recorded."""

    terms: list[str]
    source: Path
    skipped: dict[str, list[str]] = field(default_factory=dict)  # "invalid" | "duplicate" -> terms, input order
    invalid_reasons: dict[str, int] = field(default_factory=dict)  # "whitespace" | "control" | "empty" -> count
    corpus: RecordedCorpus | None = None  # the analyze run's corpus, when TERMS is an analyze directory

    @property
    def counts(self) -> dict[str, int]:
        out = {"terms_read": len(self.terms) + sum(len(v) for v in self.skipped.values()), "terms_valid": len(self.terms)}
        out.update({f"terms_skipped_{k}": len(v) for k, v in sorted(self.skipped.items())})
        out.update({f"terms_invalid_{k}": n for k, n in sorted(self.invalid_reasons.items())})
        return out


def read_terms(spec: str | Path) -> TermList:
    """Load TERMS: a directory with `terms.tsv` (and `manifest.json`), a `.tsv` with a `term` column, or a list.

    `高血压\\n\\n高血压\\na  b\\n` -> terms `["高血压"]`; skipped invalid `["", "a  b"]`, duplicate `["高血压"]`.
    """
    path = Path(spec).expanduser()
    corpus: RecordedCorpus | None = None
    if path.is_dir():
        if not (path / TERMS_FILE).is_file():
            raise UsageError(f"{path} has no {TERMS_FILE}", hint="pass an analyze output dir (vocabx analyze ... --out DIR)")
        corpus = recorded_corpus(path)
        path = path / TERMS_FILE
    elif not path.is_file():
        raise UsageError(f"terms file {path} does not exist", hint="pass an analyze output dir, its terms.tsv, or a list")
    try:
        lines = path.read_text(encoding="utf-8-sig").split("\n")
    except UnicodeDecodeError as exc:
        raise UsageError(f"terms file {path} is not UTF-8 ({exc.reason})", hint="re-save it as UTF-8") from None
    if lines and lines[-1] == "":  # the final newline ends the last line; it is not an empty term
        lines.pop()
    raw = _tsv_terms(lines) if path.suffix == ".tsv" else [line.removesuffix("\r") for line in lines]
    result = validate_terms(raw)
    result.source, result.corpus = path, corpus
    if not result.terms:
        raise UsageError(f"{path} holds no valid term ({len(raw)} lines read)", hint="one term per line, UTF-8")
    return result


def _tsv_terms(lines: list[str]) -> list[str]:
    """The `term` column of a TSV (the first column when no header names one)."""
    if not lines:
        return []
    header = [h.strip().lower() for h in lines[0].removesuffix("\r").split("\t")]
    if "term" in header:
        column = header.index("term")
        rows = lines[1:]
    else:
        column, rows = 0, lines
    out = []
    for row in rows:
        cells = row.removesuffix("\r").split("\t")
        out.append(cells[column] if column < len(cells) else "")
    return out


def validate_terms(raw: list[str]) -> TermList:
    """Keep the usable terms in order; count the rest by reason."""
    result = TermList(terms=[], source=Path())
    seen: set[str] = set()
    for term in raw:
        problem = term_problem(term)
        if problem is not None:
            result.skipped.setdefault("invalid", []).append(term)
            result.invalid_reasons[problem] = result.invalid_reasons.get(problem, 0) + 1
        elif term in seen:
            result.skipped.setdefault("duplicate", []).append(term)
        else:
            seen.add(term)
            result.terms.append(term)
    return result


def term_problem(term: str) -> str | None:
    """Why a term can never be one vocabulary entry: `empty`, `whitespace` or `control`; None when fine.

    Words joined by single spaces (`blood pressure`) are fine here: whether one token can cover them is the
    tokenizer family's question (SentencePiece BPE can; byte-level BPE and WordPiece pre-tokenizers split there)."""
    if not term:
        return "empty"
    words = term.split(" ")
    if not all(words) or any(ch.isspace() for word in words for ch in word):
        return "whitespace"
    for ch in term:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs", "Co", "Cn") or (category == "Cf" and ch not in _ALLOWED_FORMAT):
            return "control"
    return None
