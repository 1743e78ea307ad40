"""The demo's headline figures, read back from what the stages wrote (bench/bench.json with eval.json folded in,
eval/eval.json): chars/token, context gain, bits per character, decoding speed, new-token emission share."""

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
    """One line of the summary table: a metric on a corpus, base versus extended, and the relative change."""

    metric: str
    corpus: str
    base: float | None
    extended: float | None
    initialized: float | None = None  # the extended model before training, where measured (bits/char)

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


def caveats(figures: dict[str, Any]) -> list[str]:
    """Warnings a reader needs next to the summary table: a decoding change while the model emits (almost) none of
    its new tokens comes from what it generates (repetition, characters the base spells in one token), not from
    the vocabulary."""
    lines = {(h.metric, h.corpus): h for h in headlines(figures)}
    share = next((h.extended for (metric, _), h in lines.items() if metric == "new-token share"), None)
    speed = next((h for (metric, _), h in lines.items() if metric == "decoding chars/s"), None)
    if share is None or speed is None or speed.change is None or abs(speed.change) < SAME:
        return []
    if share < VOCABULARY_EFFECT:
        return [f"Decoding chars/s changed by {speed.change:+.1%} while the extended model emitted only {share:.1%} "
                "new tokens: not a vocabulary effect (it comes from what the model generated). Train longer, "
                "e.g. more `vocabx train distill` steps, before reading it as a speed-up."]
    return []


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
        return tuple(source.get((t, corpus), {}).get(key) for t in (BASE_LABEL, EXTENDED_LABEL))  # type: ignore[return-value]

    lines = [Headline("chars/token", c, *pair(rows, "chars_per_token", c)) for c in (domain, general)]
    lines += [Headline("context gain", c, *pair(rows, "context_gain", c)) for c in (domain, general)]
    lines += [Headline("bits/char", c, *pair(evals, "bits_per_char", c), untrained.get(c, {}).get("bits_per_char"))
              for c in (domain, general)]
    lines.append(Headline("decoding chars/s", domain, *pair(evals, "decode_chars_per_s", domain)))
    lines.append(Headline("decoding tokens/s", domain, *pair(evals, "decode_tokens_per_s", domain)))
    usage = ev.get("usage") or {}
    lines.append(Headline("new-token share", domain, None, usage.get("new_token_share")))
    tokenizers = [t["label"] for t in bench["tokenizers"]]
    per_tokenizer = {metric: {c["label"]: {t: rows[(t, c["label"])].get(key) for t in tokenizers}
                              for c in bench["corpora"]}
                     for metric, key in (("chars_per_token", "chars_per_token"), ("context_gain", "context_gain"),
                                         ("batch_mb_s", "batch_mb_s"), ("roundtrip_share", "roundtrip_share"))}
    return {
        "labels": labels, "tokenizers": tokenizers, "headline": [line.as_dict() for line in lines],
        "bench": per_tokenizer, "context": bench.get("context"), "machine": bench.get("throughput", {}).get("machine"),
        "eval_settings": ev.get("settings", {}), "eval_corpora": ev.get("corpora", []),
        "usage": {k: usage.get(k) for k in ("new_start", "new_tokens", "generated_tokens", "distinct_emitted",
                                             "distinct_in_domain", "flagged", "most_emitted")} if usage else None,
    }


def headlines(figures: dict[str, Any]) -> list[Headline]:
    """The summary lines of `collect`'s result as objects again."""
    return [Headline(d["metric"], d["corpus"], d["base"], d["extended"], d.get("initialized"))
            for d in figures["headline"]]
