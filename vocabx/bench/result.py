"""`BenchResult`: everything a bench run measured, as bench.json stores it, and `merge_eval` to add columns.

The per-pair rows are `PairMetrics`; figures measured elsewhere (bits per character and decoding speed from
`vocabx eval`) join a row through its `extra` columns, keyed by tokenizer and corpus label.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vocabx.bench.metrics import PairMetrics
from vocabx.errors import UsageError
from vocabx.outputs import to_jsonable

log = logging.getLogger(__name__)

FORMAT = "vocabx-bench v1"
# Keys an eval record may use to name its tokenizer (or model) and its corpus.
TOKENIZER_KEYS = ("tokenizer", "model", "label")
CORPUS_KEYS = ("corpus", "dataset")


@dataclass(frozen=True)
class TokenizerEntry:
    """A benchmarked tokenizer: its label in the report and what it was loaded from."""

    label: str
    spec: str
    family: str
    vocab_size: int
    source: str


@dataclass(frozen=True)
class CorpusEntry:
    """A benchmarked corpus: its label, spec and the counts shared by every tokenizer."""

    label: str
    spec: str
    documents: int
    chars: int
    bytes: int
    words: int
    han_share: float
    """Share of characters that are Han (Chinese) characters: tells Chinese from English corpora at a glance."""
    segmenter: str = ""
    """What cut the words for tokens per word: `jieba-kernel`/`rjieba`/`jieba` (Chinese corpus) or `unicode-words`."""
    details: dict[str, Any] = field(default_factory=dict)
    """What the corpus reader reports about it (files, skipped records, where a limit stopped reading)."""


@dataclass
class BenchResult:
    """A full run: tokenizers x corpora rows plus how they were measured."""

    reference: str
    context: int
    tokenizers: list[TokenizerEntry]
    corpora: list[CorpusEntry]
    rows: list[PairMetrics]
    word_splitter: str
    throughput: dict[str, Any]
    extra_columns: list[str] = field(default_factory=list)
    out: str | None = None
    format: str = FORMAT

    def row(self, tokenizer: str, corpus: str) -> PairMetrics:
        """The row of one pair; KeyError naming the labels if there is none."""
        for r in self.rows:
            if r.tokenizer == tokenizer and r.corpus == corpus:
                return r
        raise KeyError(f"no row for tokenizer {tokenizer!r} on corpus {corpus!r}")

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenchResult:
        """Rebuild a result from bench.json content (e.g. to merge eval columns into an earlier run)."""
        if data.get("format") != FORMAT:
            raise UsageError(f"not a bench.json (format {data.get('format')!r})", hint=f"expected format {FORMAT!r}")
        values = dict(data)
        values["tokenizers"] = [TokenizerEntry(**t) for t in data["tokenizers"]]
        values["corpora"] = [CorpusEntry(**c) for c in data["corpora"]]
        values["rows"] = [PairMetrics(**r) for r in data["rows"]]
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def _first(record: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((str(record[k]) for k in keys if k in record), None)


def _eval_records(data: Any) -> list[Mapping[str, Any]]:
    """The list of per-pair records in eval output: a list, or a mapping holding one under `rows`/`results`."""
    if isinstance(data, Mapping):
        data = data.get("rows", data.get("results"))
    if not isinstance(data, list) or not all(isinstance(r, Mapping) for r in data):
        raise UsageError(
            "eval results must be a list of records (or {'rows': [...]}) with tokenizer and corpus keys",
            hint="pass the eval.json that `vocabx eval` wrote",
        )
    return data


def read_eval(path: str | Path) -> list[Mapping[str, Any]]:
    """The per-pair records of an eval.json, checked before any measuring: a file that is not JSON, not UTF-8 or
    not a list of records is a UsageError naming it."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise UsageError(f"eval file {path} is not readable JSON ({exc})"[:300],
                         hint="pass to --eval the eval.json that `vocabx eval` wrote") from None
    return _eval_records(data)


def merge_eval(result: BenchResult, data: Any) -> dict[str, int]:
    """Add the scalar fields of eval records as extra columns of the matching rows; return merge counts.

    A record names its pair with `tokenizer` (or `model`/`label`) and `corpus` (or `dataset`), matching the
    labels of this run: `{"tokenizer": "base", "corpus": "medical", "bits_per_char": 1.31}` adds a
    `bits_per_char` column. Records that match no row are counted and logged, not fatal, unless none match.
    """
    records = read_eval(data) if isinstance(data, (str, Path)) else _eval_records(data)
    merged = unmatched = 0
    for record in records:
        key = (_first(record, TOKENIZER_KEYS), _first(record, CORPUS_KEYS))
        try:
            row = result.row(*key)  # type: ignore[arg-type]
        except KeyError:
            unmatched += 1
            log.warning("eval record for tokenizer %r on corpus %r matches no bench row; left out", *key)
            continue
        for name, value in record.items():
            if name in TOKENIZER_KEYS + CORPUS_KEYS or not isinstance(value, (int, float, str, type(None))):
                continue
            row.extra[name] = value
            if name not in result.extra_columns:
                result.extra_columns.append(name)
        merged += 1
    if records and not merged:
        labels = ", ".join(f"{t.label}" for t in result.tokenizers)
        raise UsageError(
            "no eval record matches a tokenizer and corpus of this bench run",
            hint=f"eval records need tokenizer in ({labels}) and corpus in ({', '.join(c.label for c in result.corpora)})",
        )
    return {"merged": merged, "unmatched": unmatched}
