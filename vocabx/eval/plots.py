"""PNG plots of an evaluation: training curves (loss and eval bits per character vs step) and bars of bits per
character per corpus for model and base. Drawn on an Agg canvas with matplotlib's object API (no pyplot state)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vocabx.colors import label_colors, model_color
from vocabx.errors import require
from vocabx.eval.curves import Curves


def _figure(width: float, height: float) -> Any:
    require("matplotlib", "eval plots")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def plot_curves(curves: Curves, path: Path) -> None:
    """Loss and held-out bits per character against the optimiser step, stage starts marked; a series that was not
    logged gets no panel (no empty axes), so a run without --eval-data shows its loss alone."""
    panels = [(series, title) for series, title in ((curves.loss, "training loss"),
                                                    (curves.eval_bpc, "held-out bits per character")) if series]
    fig = _figure(4.5 * len(panels), 3.6)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (series, title) in zip(axes, panels):
        steps, values = zip(*series)
        ax.plot(steps, values, marker="." if len(series) < 50 else None, linewidth=1.2, color=model_color())
        for name, step in curves.stages.items():
            ax.axvline(step, color="0.7", linewidth=0.8, linestyle=":")
            ax.annotate(name, (step, 1.0), xycoords=("data", "axes fraction"), fontsize=6, color="0.4",
                        va="top", rotation=90)
        ax.set_xlabel("step")
        ax.set_title(title, fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path, format="png")


def plot_bpc_bars(records: Sequence[dict[str, Any]], labels: Sequence[str], path: Path, base: str | None = None) -> None:
    """Grouped bars: one group per corpus, one bar per model label (`base` first, as in bench's charts, and each in
    its `label_colors` colour), bits per character on the bars (lower is better)."""
    corpora = list(dict.fromkeys(r["corpus"] for r in records))
    labels = sorted(labels, key=lambda label: label != base)  # stable: the others keep their order
    colors = label_colors(labels, base)
    width = 0.8 / max(len(labels), 1)
    fig = _figure(max(5.0, 1.5 + 1.1 * len(corpora) * len(labels)), 3.8)
    ax = fig.add_subplot()
    for i, label in enumerate(labels):
        values = {r["corpus"]: r.get("bits_per_char") for r in records if r["tokenizer"] == label}
        xs = [j + (i - (len(labels) - 1) / 2) * width for j in range(len(corpora))]
        bars = ax.bar(xs, [values.get(c) or 0.0 for c in corpora], width=width * 0.95, label=label, color=colors[label])
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=1)
    ax.set_xticks(range(len(corpora)), [f"{c}\n({_role(records, c)})" for c in corpora])
    ax.set_ylabel("bits per character")
    ax.set_title("Bits per character on held-out text (lower is better)", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path, format="png")


def _role(records: Sequence[dict[str, Any]], corpus: str) -> str:
    return next((str(r.get("role", "")) for r in records if r["corpus"] == corpus), "")
