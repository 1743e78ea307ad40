"""`terms.tsv`: the ranked candidate terms with their scores (UTF-8, tab-separated, header row, `term` first),
written in selection order and read back by `vocabx extend --terms`. `domain_score` is the log-odds ratio against
the reference (positive: the domain uses the term more); `is_term` is 1 when it is shaped like a term
(`vocabx.analyze.termhood`); `gain` is the weighted token saving when it was placed in the order."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

COLUMNS = ("term", "rank", "freq", "doc_freq", "base_tokens", "saved_tokens", "gain", "cohesion", "left_entropy",
           "right_entropy", "domain_score", "source", "is_term")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def write_terms(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Write rows (dicts keyed by `COLUMNS`) as TSV; empty cells for scores that do not apply (NaN)."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("\t".join(COLUMNS) + "\n")
        fh.writelines("\t".join(_cell(row[c]) for c in COLUMNS) + "\n" for row in rows)


def read_terms(path: str | Path) -> list[dict[str, str]]:
    """Rows of a terms.tsv as dicts of strings, in file order (best first)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
