"""The `vocabx eval` output directory: eval.json, new_tokens.tsv, instructions.md, PNG plots and manifest.json,
written atomically."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from vocabx.eval.config import EvalConfig
from vocabx.eval.curves import Curves
from vocabx.eval.result import EvalResult
from vocabx.outputs import MANIFEST_NAME, atomic_output_dir, build_manifest, write_json, write_text_atomic

log = logging.getLogger(__name__)

TSV_COLUMNS = ("id", "text", "token", "flags", "drift", "input_norm", "input_norm_z", "output_norm_z", "occurrences",
               "bits_per_char", "emitted")


def new_tokens_tsv(rows: Sequence[dict[str, Any]]) -> str:
    """One line per new token, tab-separated, flags joined by commas; empty cells for unknown values."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(TSV_COLUMNS)
    for row in rows:
        cells = []
        for col in TSV_COLUMNS:
            value = row.get(col)
            if isinstance(value, list):
                value = ",".join(value)
            elif isinstance(value, float):
                value = f"{value:.6g}"
            cells.append("" if value is None else value)
        writer.writerow(cells)
    return buf.getvalue()


def write_plots(result: EvalResult, curves: Curves, directory: Path, base: str | None = None) -> list[str]:
    """curves.png when MODEL has a training log; bpc.png whenever bits per character were measured (`base`: the
    label of --base, drawn first and in the base's colour)."""
    from vocabx.eval.plots import plot_bpc_bars, plot_curves

    names = []
    if curves:
        plot_curves(curves, directory / "curves.png")
        names.append("curves.png")
    scored = [r for r in result.rows if r.get("bits_per_char") is not None]
    if scored:
        labels = list(dict.fromkeys(r["tokenizer"] for r in scored))
        plot_bpc_bars(scored, labels, directory / "bpc.png", base)
        names.append("bpc.png")
    return names


def instructions_markdown(result: EvalResult) -> str:
    """instructions.md: answer bits/char per model and set, then each general prompt with every model's greedy
    answer side by side (what "the model got dumber" looks like)."""
    lines = ["# Instruction answers", "", "Bits per character of held-out answers given their prompts (chat template).",
             "", "| model | set | role | bits/char | vs base | conversations |", "|---|---|---|---:|---:|---:|"]
    for r in result.instructions:
        change = f"{r['vs_base']:+.1%}" if "vs_base" in r else "-"
        lines.append(f"| {r['model']} | {r['set']} | {r['role']} | {r['bits_per_char']:.4f} | {change} | {r['docs']} |")
    if result.answers:
        labels = list(dict.fromkeys(label for item in result.answers for label in item["answers"]))
        lines += ["", f"## Greedy answers to general prompts ({result.answers[0]['set']})", "",
                  "| prompt | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
        for item in result.answers:
            cells = [_cell(item["prompt"])] + [_cell(item["answers"].get(label, "")) for label in labels]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Text inside one Markdown table cell: pipes escaped, line breaks as <br>."""
    return text.replace("|", "\\|").replace("\n", "<br>")


def write_eval(result: EvalResult, out: Path, config: EvalConfig, curves: Curves, corpus_specs: Sequence[str]) -> None:
    """Write the output directory into a temporary sibling and rename it into place (nothing half-written)."""
    with atomic_output_dir(out, force=config.force) as tmp:
        names = ["eval.json"]
        if result.new_rows:
            write_text_atomic(tmp / "new_tokens.tsv", new_tokens_tsv(result.new_rows))
            names.append("new_tokens.tsv")
        if config.plots:
            names += write_plots(result, curves, tmp, config.base_label if config.base else None)
        if result.instructions or result.answers:
            write_text_atomic(tmp / "instructions.md", instructions_markdown(result))
            names.append("instructions.md")
        result.out, result.outputs = str(out), [*names, MANIFEST_NAME]
        write_json(tmp / "eval.json", result.to_dict())
        recorded = {k: v for k, v in asdict(config).items() if k not in ("out", "force")}
        counts = {"corpora": len(result.corpora), "rows": len(result.rows),
                  "new_tokens": result.usage["new_tokens"] if result.usage else 0,
                  "flagged_new_tokens": result.usage["flagged"] if result.usage else 0,
                  "instruction_rows": len(result.instructions), "answered_prompts": len(result.answers)}
        inputs = [s for s in (result.model, config.base, *corpus_specs) if s and Path(s).expanduser().exists()]
        write_json(tmp / MANIFEST_NAME, build_manifest("eval", recorded, inputs=inputs, counts=counts,
                                                       outputs=result.outputs))
    log.info("wrote %s", out)
