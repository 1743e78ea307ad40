"""Context gain: how many characters of text fit in the model's context window, versus the base.

A window of `context` tokens holds `context * chars_per_token` characters, so a tokenizer that spends fewer
tokens on the domain lets the same model read more of it at once.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ContextGain:
    """Characters per context window for the model and the base, and their ratio (`gain` > 1: more text fits).

    >>> context_gain(2048, 1.5, 2048, 1.0).gain
    1.5
    """

    context: int
    chars_per_token: float
    chars_per_window: float
    base_context: int
    base_chars_per_token: float
    base_chars_per_window: float
    gain: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def context_gain(context: int, chars_per_token: float, base_context: int, base_chars_per_token: float) -> ContextGain:
    """Chars per window = context x chars/token, for both sides; gain = model's / base's (NaN when undefined)."""
    window = context * chars_per_token
    base_window = base_context * base_chars_per_token
    gain = window / base_window if base_window > 0 and not math.isnan(base_window) else math.nan
    return ContextGain(context, chars_per_token, window, base_context, base_chars_per_token, base_window, gain)
