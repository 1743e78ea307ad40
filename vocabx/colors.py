"""Chart colours: one colour per model label in every chart vocabx draws (bench's bars, eval's bars and curves), so
that within one run, and across bench and eval charts of the same labels, a colour always means the same model."""

from __future__ import annotations

from collections.abc import Sequence

# matplotlib's tab10, written out so that the colours do not depend on a matplotlib style
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
# The labels vocabx itself gives: the base (blue), the extended or evaluated model (orange; eval calls MODEL "model"
# unless --model-label says otherwise), the extended model before training (purple). Other labels take the rest.
FIXED = {"base": 0, "extended": 1, "model": 1, "initialized": 4}
REFERENCE = 0  # the bench reference / eval --base takes the base's colour whatever its label


def label_colors(labels: Sequence[str], reference: str | None = None) -> dict[str, str]:
    """A colour for each label: the fixed ones for vocabx's own labels, the base's for `reference`, and the free
    colours in order for the others.

    >>> label_colors(["smollm2", "extended", "qwen2"], reference="smollm2")
    {'smollm2': '#1f77b4', 'extended': '#ff7f0e', 'qwen2': '#2ca02c'}
    """
    fixed = {label: FIXED[label] for label in labels if label in FIXED}
    if reference is not None:
        fixed = {label: i for label, i in fixed.items() if i != REFERENCE}  # a second "base" is not the base
        fixed[reference] = REFERENCE
    free = [i for i in range(len(PALETTE)) if i not in set(FIXED.values())]
    others = [label for label in labels if label not in fixed]
    colors = {label: PALETTE[free[k % len(free)]] for k, label in enumerate(others)}
    return {label: colors.get(label) or PALETTE[fixed[label]] for label in labels}


def model_color() -> str:
    """The colour of the extended (or evaluated) model, for charts of that one model (its training curves)."""
    return PALETTE[FIXED["model"]]
