"""`terms.tsv`: the analysis's terms with two rankings (UTF-8, tab-separated, header row, `term` first), read back
by `vocabx extend --terms` in file order. `saved_rank`: the plan's entries that are whole text, in the order the
plan adds them (what `extend` uses; `saved_tokens` is what each saves on the mined corpus); `termhood_rank`: the
candidate terms by domain specificity among term-shaped candidates (what a person reviews). Rows of the plan come
first, then the remaining candidates by termhood; an empty cell is a score that does not apply. `domain_score` is
the log-odds ratio against the reference (positive: the domain uses the term more); `is_term` is 1 when the term is
shaped like a term (`vocabx.analyze.termhood`)."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

COLUMNS = ("term", "saved_rank", "termhood_rank", "saved_tokens", "freq", "doc_freq", "base_tokens", "domain_score",
           "cohesion", "left_entropy", "right_entropy", "source", "is_term")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def render_columns(columns: Mapping[str, Sequence[Any]]) -> str:
    """The TSV text of columns keyed by `COLUMNS` (equal lengths); empty cells for None and NaN."""
    cells = [[_cell(v) for v in columns[c]] for c in COLUMNS]
    return "".join(["\t".join(COLUMNS) + "\n", *("\t".join(row) + "\n" for row in zip(*cells))])


def read_terms(path: str | Path) -> list[dict[str, str]]:
    """Rows of a terms.tsv as dicts of strings, in file order (best first)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
