"""report.md of `vocabx select`: what was read, what each stage removed (documents and characters, with examples),
what was kept per pool input, and how to train on it; plus the process's peak memory for report.json."""

from __future__ import annotations

import contextlib
import resource
import sys
from pathlib import Path
from typing import Any

from vocabx.select.quality import COSTLY_REASONS, REASONS

STAGES = (*REASONS, "exact_duplicate", "general", *COSTLY_REASONS, "near_duplicate", "candidate")


def peak_rss_mb() -> float:
    """Peak resident memory of this process and of its finished children (the workers), in MB. This process's
    own is its VmHWM on Linux: `ru_maxrss` carries the parent's peak across exec, so a selection started from a
    large process (a bench script) reported the parent's memory as its own."""
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / (1024 * 1024)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                own = int(line.split()[1]) / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return round(max(own, children), 1)


def outcome_table(report: dict[str, Any]) -> list[str]:
    docs, chars = report["outcomes"]["docs"], report["outcomes"]["chars"]
    read = report["outcomes"]["read"]
    lines = ["| outcome | documents | share | characters |", "|---|---:|---:|---:|"]
    for stage in STAGES:
        if docs.get(stage):
            n_chars = f"{chars[stage]:,}" if stage in chars else "-"  # the datatrove engine counts documents only
            lines.append(f"| {stage} | {docs[stage]:,} | {docs[stage] / max(read['docs'], 1):.1%} | {n_chars} |")
    return lines


def render_markdown(report: dict[str, Any]) -> str:
    """A human-readable report.md from the report.json dictionary."""
    read, scorer = report["outcomes"]["read"], report["scorer"]
    lines = [
        "# vocabx select", "",
        f"Read {read['docs']:,} documents ({read['chars']:,} characters, {read['bytes'] / 1e6:.1f} MB) in "
        f"{report['seconds']:.1f} s ({report['mb_per_s']:.1f} MB/s, {report['workers']} workers, peak "
        f"{report['peak_rss_mb']:.0f} MB); selected {report['selected_docs']:,} documents, "
        f"{report['selected_chars']:,} characters.", "",
        "## Relevance", "",
        f"Scorer `{scorer['scorer']}` fitted on {report['domain_sample']['docs']} domain documents against "
        f"{scorer['reference_general']:,} of {scorer['reference_docs']:,} reference documents (those the first fit "
        f"scored as general). Threshold {scorer['threshold']:.3f}: midpoint of the reference's 99th percentile "
        f"({scorer['general_q99']:.3f}) and the held-out domain 1st percentile ({scorer['heldout_q01']:.3f}). "
        f"Estimated recall on the held-out sample {scorer['heldout_recall']:.1%}; reference passing "
        f"{scorer['reference_pass']:.2%}.", "",
        "## Every document's outcome (first stage that removed it)", "", *outcome_table(report), "",
        "## Balance", "", *[f"- {k}: {v:,}" for k, v in report["balance"].items()], "",
        "## Per pool input", "",
    ]
    for item in report["pool"]:
        outcomes = report["outcomes"]["by_pool"].get(item["label"], {})
        skipped = item.get("skipped") or {}
        lines.append(f"- `{item['label']}` ({item['spec']}): {dict(sorted(outcomes.items()))}"
                     + (f"; unreadable records skipped: {skipped}" if skipped else ""))
    lines += ["", "## Examples of removed documents", ""]
    for reason, examples in report["outcomes"]["examples"].items():
        for ex in examples:
            text = ex["text"].replace("\n", " ⏎ ").replace("|", "\\|")
            lines.append(f"- **{reason}** `{ex['source']}`{' (' + ex['note'] + ')' if ex.get('note') else ''}: {text}")
    lines += ["", "## Train on it", "", "```",
              "vocabx train cpt MODEL --data OUT/domain.jsonl"
              + (" --replay OUT/replay.jsonl --replay-ratio R" if "replay_docs" in report["balance"] else "")
              + " --out runs/cpt", "```", ""]
    return "\n".join(lines)
