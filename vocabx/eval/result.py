"""`EvalResult`: what `vocabx eval` measured, as eval.json stores it. Its `rows` are one record per (model, corpus)
with scalar fields, the shape `vocabx bench --eval` merges (`tokenizer` and `corpus` name the pair)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vocabx.eval.bpc import BPCResult
from vocabx.eval.context import ContextGain
from vocabx.eval.decode_speed import DecodeSpeed
from vocabx.outputs import to_jsonable

FORMAT = "vocabx-eval v1"


@dataclass
class CorpusText:
    """A held-out corpus as read (within the limits): its label, spec, role and texts."""

    label: str
    spec: str
    role: str  # "domain" or "general"
    texts: list[str]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def chars(self) -> int:
        return sum(len(t) for t in self.texts)

    def describe(self) -> dict[str, Any]:
        return {"label": self.label, "spec": self.spec, "role": self.role, "docs": len(self.texts),
                "chars": self.chars, **self.details}


@dataclass
class SideResult:
    """One side (model or base): its scores per corpus label (None for a tokenizer-only base) and decoding."""

    label: str
    spec: str
    context: int
    scores: dict[str, BPCResult]
    has_model: bool
    decode: DecodeSpeed | None = None
    vocab: int = 0
    instructions: dict[str, BPCResult] = field(default_factory=dict)  # answer bits/char per instruction set
    answers: list[str] = field(default_factory=list)  # greedy answers to the general prompts


def side_records(side: SideResult, corpora: list[CorpusText], gains: dict[str, ContextGain]) -> list[dict[str, Any]]:
    """The eval.json rows of one side: one per corpus, scalars only; decoding figures on the first domain row."""
    rows = []
    first_domain = next((c.label for c in corpora if c.role == "domain"), None)
    for corpus in corpora:
        score = side.scores[corpus.label]
        row: dict[str, Any] = {
            "tokenizer": side.label, "corpus": corpus.label, "role": corpus.role,
            "bits_per_char": score.bpc if side.has_model else None,
            "eval_chars_per_token": score.chars_per_token, "eval_tokens": score.tokens, "eval_chars": score.chars,
            "eval_docs": score.docs, "chars_per_window": side.context * score.chars_per_token,
        }
        if corpus.label in gains:
            row["eval_context_gain"] = gains[corpus.label].gain
        if side.decode is not None and corpus.label == first_domain:
            row.update(decode_chars_per_s=side.decode.chars_per_s, decode_tokens_per_s=side.decode.tokens_per_s)
        rows.append(row)
    return rows


@dataclass
class EvalResult:
    """Everything one evaluation measured; `rows` is what `vocabx bench --eval` folds into its report."""

    model: str
    base: str | None
    corpora: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    context_gain: dict[str, dict[str, Any]]
    decode: dict[str, dict[str, Any]]
    usage: dict[str, Any] | None
    curves: dict[str, Any] | None
    settings: dict[str, Any]
    seconds: float = 0.0
    instructions: list[dict[str, Any]] = field(default_factory=list)  # one row per (model, instruction set)
    answers: list[dict[str, Any]] = field(default_factory=list)  # prompt and each model's greedy answer
    new_rows: list[dict[str, Any]] = field(default_factory=list, repr=False)  # every new token: new_tokens.tsv
    out: str | None = None
    outputs: list[str] = field(default_factory=list)
    format: str = FORMAT

    def row(self, label: str, corpus: str) -> dict[str, Any]:
        """The record of one (model label, corpus label) pair; KeyError naming them if there is none."""
        for r in self.rows:
            if r["tokenizer"] == label and r["corpus"] == corpus:
                return r
        raise KeyError(f"no eval row for {label!r} on {corpus!r}")

    def to_dict(self) -> dict[str, Any]:
        """eval.json's content: everything but the per-new-token table (new_tokens.tsv holds that)."""
        data = to_jsonable(self)
        data.pop("new_rows")
        return data


def instruction_records(sides: list[SideResult], sets: list[Any]) -> list[dict[str, Any]]:
    """eval.json rows of the instruction sets: answer bits/char per (model, set), and the change against the
    last side (the base) where both were scored."""
    rows = []
    for side in sides:
        for item in sets:
            score = side.instructions.get(item.label)
            if score is None:
                continue
            rows.append({"model": side.label, "set": item.label, "role": item.role, "bits_per_char": score.bpc,
                         "answer_chars": score.chars, "answer_tokens": score.tokens, "docs": score.docs})
    base = {r["set"]: r["bits_per_char"] for r in rows if r["model"] == sides[-1].label} if len(sides) > 1 else {}
    for r in rows:
        if r["model"] != sides[-1].label and r["set"] in base:
            r["vs_base"] = r["bits_per_char"] / base[r["set"]] - 1
    return rows
