"""PNG charts of a `BenchResult`: grouped bars per corpus (one bar per tokenizer) for chars/token and context gain.

Figures are drawn with matplotlib's object API on an Agg canvas: no pyplot global state, no display needed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vocabx.bench.metrics import PairMetrics
from vocabx.bench.result import BenchResult
from vocabx.colors import label_colors
from vocabx.errors import require

# file -> (title, value of a row, a horizontal guide line: the reference level where there is one)
CHARTS: dict[str, tuple[str, Callable[[PairMetrics], float | None], float | None]] = {
    "chars_per_token.png": ("Characters per token (higher is better)", lambda r: r.chars_per_token, None),
    "context_gain.png": ("Context gain vs {reference} (chars per token / reference's)", lambda r: r.context_gain, 1.0),
}


def grouped_bars(
    result: BenchResult, title: str, value: Callable[[PairMetrics], float | None], path: Path, guide: float | None = None
) -> None:
    """Draw one grouped bar chart: corpora on the x axis, one bar per tokenizer in its colour (`label_colors`, the
    same in eval's charts), values on the bars."""
    require("matplotlib", "bench charts")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    corpora = [c.label for c in result.corpora]
    tokenizers = [t.label for t in result.tokenizers]
    colors = label_colors(tokenizers, result.reference)
    width = 0.8 / max(len(tokenizers), 1)
    fig = Figure(figsize=(max(6.0, 1.2 + len(corpora) * len(tokenizers) * 0.45), 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, tok in enumerate(tokenizers):
        heights = []
        for corpus in corpora:
            v = value(result.row(tok, corpus))
            heights.append(v if v is not None else 0.0)
        xs = [j + (i - (len(tokenizers) - 1) / 2) * width for j in range(len(corpora))]
        bars = ax.bar(xs, heights, width=width * 0.95, label=tok, color=colors[tok])
        ax.bar_label(bars, fmt="%.2f", fontsize=6, padding=1)
    if guide is not None:
        ax.axhline(guide, color="0.4", linewidth=0.8, linestyle="--")
    ax.set_xticks(range(len(corpora)), corpora)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncols=min(len(tokenizers), 4), loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path, format="png")


def write_charts(result: BenchResult, directory: Path) -> list[str]:
    """Write every chart into `directory`; return their file names."""
    for name, (title, value, guide) in CHARTS.items():
        grouped_bars(result, title.format(reference=result.reference), value, directory / name, guide)
    return list(CHARTS)
