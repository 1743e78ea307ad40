"""The demo's headline figures, read back from what the stages wrote (bench/bench.json with eval.json folded in,
eval/eval.json): chars/token, context gain, bits per character, decoding speed, new-token emission share.

The summary table takes every figure from eval's held-out sample (chars/token and context gain on the very text
that bits/char scored; decoding and new tokens from the same prompts), and each line says which; the tokenizer
table is bench's, on its own (larger) sample, which the report names too."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vocabx.demo.stages import BASE_LABEL, EXTENDED_LABEL

# metric -> (format of a value, True when higher is better); one place, so the Markdown and HTML agree
FORMATS: dict[str, tuple[str, bool]] = {
    "chars/token": (".3f", True), "context gain": (".3f", True), "bits/char": (".3f", False),
    "decoding chars/s": (".1f", True), "decoding tokens/s": (".1f", True), "new-token share": (".1%", True),
}
SAME = 0.005  # relative changes below half a percent are reported as the same, not as better or worse


@dataclass
class Headline:
    """One line of the summary table: a metric on a corpus, base versus extended, the relative change, and the
    held-out sample it was measured on."""

    metric: str
    corpus: str
    base: float | None
    extended: float | None
    initialized: float | None = None  # the extended model before training, where measured (bits/char)
    sample: str = ""  # `16 docs, 1,737 chars` or `2 prompts x 32 tokens`

    @property
    def change(self) -> float | None:
        if self.base is None or self.extended is None or not self.base or self.metric == "new-token share":
            return None
        return self.extended / self.base - 1.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "change": self.change}


def fmt(metric: str, value: float | None) -> str:
    """A value as the reports print it: `fmt("bits/char", 6.86241) -> '6.862'`; `-` where unmeasured."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, FORMATS[metric][0])


def fmt_change(line: Headline) -> str:
    """`+131.9%`, and whether that is better: `(better)` / `(worse)`."""
    change = line.change
    if change is None:
        return ""
    if abs(change) < SAME:
        return f"{change:+.1%} (same)"
    better = (change > 0) == FORMATS[line.metric][1]
    return f"{change:+.1%} ({'better' if better else 'worse'})"


VOCABULARY_EFFECT = 0.05  # below this new-token share, a decoding change is not the new vocabulary's doing
DECODING = ("decoding chars/s", "decoding tokens/s")


def caveats(figures: dict[str, Any]) -> list[str]:
    """Warnings a reader needs next to the summary table: a decoding change (chars/s or tokens/s) while the model
    emits (almost) none of its new tokens comes from what it generates (repetition, characters the base spells in
    one token), not from the vocabulary."""
    lines = headlines(figures)
    share = next((h.extended for h in lines if h.metric == "new-token share"), None)
    changed = [h for h in lines if h.metric in DECODING and h.change is not None and abs(h.change) >= SAME]
    if share is None or not changed or share >= VOCABULARY_EFFECT:
        return []
    what = ", ".join(f"{h.metric.removeprefix('decoding ')} {h.change:+.1%}" for h in changed)
    return [f"Decoding speed changed ({what}) while the extended model emitted only {share:.1%} new tokens: not a "
            "vocabulary effect (it comes from what the model generated). Train longer, e.g. more `vocabx train "
            "distill` steps, before reading it as a speed-up."]


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def collect(bench_json: Path, eval_json: Path, labels: dict[str, str],
            initialized_json: Path | None = None) -> dict[str, Any]:
    """Every figure the report shows, keyed for lookup; `headline` holds the summary table's lines. With
    `initialized_json` (the untrained extended model's eval.json), bits/char lines carry its value too."""
    bench, ev = _read(bench_json), _read(eval_json)
    untrained = {r["corpus"]: r for r in _read(initialized_json)["rows"]} if initialized_json else {}
    rows = {(r["tokenizer"], r["corpus"]): r for r in bench["rows"]}
    evals = {(r["tokenizer"], r["corpus"]): r for r in ev["rows"]}
    domain, general = labels["domain"], labels["general"]

    def pair(source: dict, key: str, corpus: str) -> tuple[float | None, float | None]:
        return tuple(source.get((t, corpus), {}).get(key) for t in (BASE_LABEL, EXTENDED_LABEL))

    scored = {c["label"]: f"{c['docs']:,} docs, {c['chars']:,} chars" for c in ev.get("corpora", [])}
    prompts = _prompts(ev)
    lines = [Headline("chars/token", c, *pair(evals, "eval_chars_per_token", c), sample=scored.get(c, ""))
             for c in (domain, general)]
    lines += [Headline("context gain", c, *_gain(evals, c), sample=scored.get(c, "")) for c in (domain, general)]
    lines += [Headline("bits/char", c, *pair(evals, "bits_per_char", c), untrained.get(c, {}).get("bits_per_char"),
                       sample=scored.get(c, "")) for c in (domain, general)]
    lines.append(Headline("decoding chars/s", domain, *pair(evals, "decode_chars_per_s", domain), sample=prompts))
    lines.append(Headline("decoding tokens/s", domain, *pair(evals, "decode_tokens_per_s", domain), sample=prompts))
    usage = ev.get("usage") or {}
    lines.append(Headline("new-token share", domain, None, usage.get("new_token_share"), sample=prompts))
    tokenizers = [t["label"] for t in bench["tokenizers"]]
    per_tokenizer = {metric: {c["label"]: {t: rows[(t, c["label"])].get(key) for t in tokenizers}
                              for c in bench["corpora"]}
                     for metric, key in (("chars_per_token", "chars_per_token"), ("context_gain", "context_gain"),
                                         ("batch_mb_s", "batch_mb_s"), ("roundtrip_share", "roundtrip_share"))}
    return {
        "labels": labels, "tokenizers": tokenizers, "headline": [line.as_dict() for line in lines],
        "bench": per_tokenizer, "context": bench.get("context"), "machine": bench.get("throughput", {}).get("machine"),
        "bench_corpora": [{k: c[k] for k in ("label", "documents", "chars")} for c in bench["corpora"]],
        "eval_settings": ev.get("settings", {}), "eval_corpora": ev.get("corpora", []),
        "usage": {k: usage.get(k) for k in ("new_start", "new_tokens", "generated_tokens", "distinct_emitted",
                                             "distinct_in_domain", "flagged", "most_emitted")} if usage else None,
    }


def _gain(evals: dict[tuple[str, str], dict[str, Any]], corpus: str) -> tuple[float | None, float | None]:
    """(base, extended) context gain on eval's sample: eval measures it against the base, so the base's is 1."""
    extended = evals.get((EXTENDED_LABEL, corpus), {}).get("eval_context_gain")
    return (None if extended is None else 1.0), extended


def _prompts(ev: dict[str, Any]) -> str:
    """`2 prompts x 32 tokens`: what the decoding speed and the new-token share were measured on."""
    decode = (ev.get("decode") or {}).get(EXTENDED_LABEL)
    if not decode or not decode.get("prompts"):
        return ""
    return f"{decode['prompts']} prompts x {decode['new_tokens'] // decode['prompts']} tokens"


def headlines(figures: dict[str, Any]) -> list[Headline]:
    """The summary lines of `collect`'s result as objects again."""
    return [Headline(d["metric"], d["corpus"], d["base"], d["extended"], d.get("initialized"), d.get("sample", ""))
            for d in figures["headline"]]
