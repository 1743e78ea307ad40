"""The demo report: `report.md` (links the PNG charts relatively) and `report.html` (self-contained, charts
embedded), both from the same figures: what ran, what changed, the tokenizer table, example tokenizations,
charts, stage timings and links to each stage's outputs."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from vocabx.demo.figures import FORMATS, caveats, collect, fmt, fmt_change, headlines
from vocabx.demo.stages import STAGE_DIRS, Workspace
from vocabx.outputs import write_text_atomic

# charts the stages write, in report order: (path under OUT, caption)
CHARTS = (
    ("bench/chars_per_token.png", "Characters per token on held-out text (higher is better)"),
    ("bench/context_gain.png", "Context gain versus the base tokenizer"),
    ("eval/bpc.png", "Bits per character on held-out text (lower is better)"),
    ("eval/curves.png", "Training loss of the short continued pretraining"),
    ("eval-initialized/bpc.png", "Bits per character of the extended model before training"),
)
TIMING_NOTE = ("Timings are wall-clock and CPU seconds on a machine that may be shared with other jobs; the "
               "base/extended ratios are measured side by side in one run.")


def write_reports(ws: Workspace, records: Sequence[Any]) -> dict[str, Any]:
    """Collect the figures and write report.md and report.html into OUT; the report stage's summary."""
    from vocabx.demo.html import render_html

    initialized = ws.dir("eval_initialized") / "eval.json"
    figures = collect(ws.dir("bench") / "bench.json", ws.dir("eval") / "eval.json", ws.labels,
                      initialized if initialized.is_file() else None)
    examples = json.loads((ws.dir("examples") / "examples.json").read_text(encoding="utf-8"))
    charts = [(path, caption) for path, caption in CHARTS if (ws.out / path).is_file()]
    content = {"figures": figures, "examples": examples, "charts": charts, "records": list(records),
               "runs": what_ran(ws, records)}
    ws.total_s = round(time.perf_counter() - ws.started, 2)  # the run's one total: both reports, the CLI, the manifest
    write_text_atomic(ws.out / "report.md", render_markdown(ws, content))
    write_text_atomic(ws.out / "report.html", render_html(ws, content))
    return {"files": ["report.md", "report.html"], "charts": [p for p, _ in charts], "figures": figures,
            "total_s": ws.total_s}


def title(ws: Workspace) -> str:
    return f"vocabx demo: {ws.config.model} adapted to {ws.labels['domain']}"


def what_ran(ws: Workspace, records: Sequence[Any]) -> list[str]:
    """One sentence per stage, from its summary: what it did, on what, with which result."""
    c, s = ws.config, {r.name: r.summary for r in records}
    split = s["split"]
    lines = [
        (f"**split**: held out every {c.holdout_every}th document. Domain {_named(ws.labels['domain'], c.corpus)}: "
        f"{split['domain']['train_docs']} documents to mine and train on, {split['domain']['heldout_docs']} held "
        f"out; general {_named(ws.labels['general'], c.general)}: {split['general']['train_docs']} / "
        f"{split['general']['heldout_docs']}."),
        (f"**analyze**: {s['analyze']['candidates']} candidate terms against the general text; top terms: "
        f"{'、'.join(s['analyze']['top_terms'][:8])}."),
        (f"**extend**: {c.model} grown by {s['extend']['added']} entries ({s['extend']['family']}, budget "
        f"{c.budget}); guarantee checks: {_checks(s['extend']['checks'])}."),
    ]
    if "distill" in s:
        d = s["distill"]
        lines.append(
            f"**distill**: {d['steps']} steps of `vocabx train distill --method full` (the base model teaches the "
            f"extended one: the whole model, the new rows at a higher rate) on {d['domain_chars']} domain characters, "
            f"{d['replay_share']:.0%} general replay; {d['new_token_share']:.0%} of the domain tokens are new.")
    if "train" in s:
        t = s["train"]
        lines.append(
            f"**train**: {t['steps']} steps ({t['embed_steps']} new-rows only, then LoRA + new rows, merged), "
            f"{t['tokens']} tokens in blocks of {t['block_size']}, {t['replay_share']:.0%} general replay; "
            f"loss {_num(t['first_loss'])} → {_num(t['final_loss'])}.")
    else:
        lines.append("**train**: skipped (--no-train / --quick): the extended model is evaluated as initialized.")
    lines += [
        (f"**eval**: {'trained' if c.trains else 'extended'} model versus base {c.model} on the held-out text "
        f"({_eval_sizes(ws)}); decoding on one thread."),
        *(["**eval_initialized**: the extended model before training, on the same held-out text."]
          if "eval_initialized" in s else []),
        f"**bench**: tokenizers {', '.join(s['bench']['tokenizers'])} on both held-out parts (eval figures folded in).",
        f"**examples**: {s['examples']['examples']} held-out domain sentences, tokenized by base and extended.",
    ]
    return lines


def _named(label: str, specs: Sequence[str]) -> str:
    """`legal-zh`, or `domain (a.txt, b.txt)` where the label is not the spec itself."""
    return label if tuple(specs) == (label,) else f"{label} ({', '.join(specs)})"


def _checks(checks: dict[str, Any]) -> str:
    failed = [name for name, passed in checks.items() if passed is False]
    return "all passed" if not failed else f"FAILED {', '.join(failed)}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _eval_sizes(ws: Workspace) -> str:
    corpora = json.loads((ws.dir("eval") / "eval.json").read_text(encoding="utf-8")).get("corpora", [])
    return "; ".join(f"{c['label']}: {c['docs']} documents, {c['chars']} characters" for c in corpora)


def headline_header(figures: dict[str, Any]) -> list[str]:
    trained = any(line.get("initialized") is not None for line in figures["headline"])
    return ["metric", "corpus", "base", *(["extended, untrained"] if trained else []),
            "extended + CPT" if trained else "extended", "change vs base", "held-out sample"]


def headline_rows(figures: dict[str, Any]) -> list[list[str]]:
    """[metric, corpus, base, (untrained,) extended, change, sample] as printed, in both reports and the CLI
    summary."""
    trained = len(headline_header(figures)) == 7
    return [[line.metric + ("" if FORMATS[line.metric][1] else " (lower is better)"), line.corpus,
             fmt(line.metric, line.base), *([fmt(line.metric, line.initialized)] if trained else []),
             fmt(line.metric, line.extended), fmt_change(line), line.sample]
            for line in headlines(figures)]


HEADLINE_NOTE = ("Every figure of this table comes from eval's held-out sample, named in its last column: chars/token, "
                 "context gain and bits per character on the same scored text, decoding speed and new-token share from "
                 "the same prompts. Context gain is chars/token over the base's (the same window holds that much more "
                 "text). Bits per character compare across tokenizers. New-token share: of the tokens the extended "
                 "model generated from domain prompts, the share that are new vocabulary.")


def bench_sample(figures: dict[str, Any]) -> str:
    """The sentence under the tokenizer table that names bench's sample (all of each held-out part, up to
    --bench-max-chars): it is larger than eval's, so its chars/token differ a little from the summary table's."""
    parts = "; ".join(f"{c['label']} {c['documents']:,} documents, {c['chars']:,} characters"
                      for c in figures.get("bench_corpora", []))
    return (f"Measured by `vocabx bench` on the held-out text up to --bench-max-chars ({parts}), a larger sample than "
            "the summary table's, so its chars/token and context gain differ from those there.")


def total_line(ws: Workspace, records: Sequence[Any], figures: dict[str, Any]) -> str:
    """The run's one total (the CLI and manifest.json quote the same), then the machine."""
    return (f"Total: {ws.total_s:.1f} s wall, from checking the inputs to writing this report "
            f"({sum(r.wall_s for r in records):.1f} s in the stages above). Machine: {figures.get('machine')}. "
            f"{TIMING_NOTE}")


def bench_rows(figures: dict[str, Any]) -> list[list[str]]:
    """[tokenizer, corpus, chars/token, context gain, encode MB/s] for every benchmarked pair."""
    b = figures["bench"]
    return [[tok, corpus, fmt("chars/token", b["chars_per_token"][corpus][tok]),
             fmt("context gain", b["context_gain"][corpus][tok]), _mb(b["batch_mb_s"][corpus][tok])]
            for corpus in b["chars_per_token"] for tok in figures["tokenizers"]]


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def segments_text(segments: Sequence[Sequence[Any]]) -> str:
    """Token boundaries as `|`; a character that took several byte tokens carries `×N`."""
    return "|".join(text.replace("|", "¦").replace("\n", "⏎") + (f"×{n}" if n > 1 else "") for text, n in segments)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]


def render_markdown(ws: Workspace, content: dict[str, Any]) -> str:
    figures, records = content["figures"], content["records"]
    lines = [f"# {title(ws)}", "", "## What ran", ""]
    lines += [f"{i}. {line}" for i, line in enumerate(content["runs"], 1)]
    lines += ["", "## What changed (held-out text)", ""]
    lines += _table(headline_header(figures), headline_rows(figures))
    lines += [line for caveat in caveats(figures) for line in ("", f"**Note:** {caveat}")]
    lines += ["", HEADLINE_NOTE, ""]
    lines += ["## Tokenizers", "", bench_sample(figures), ""]
    lines += _table(["tokenizer", "corpus", "chars/token", "context gain", "encode MB/s"], bench_rows(figures))
    lines += ["", ("## Example tokenizations (held-out, `|` = token boundary, `×N` = a character split into N "
              "byte tokens)"), ""]
    for i, example in enumerate(content["examples"], 1):
        lines += [f"{i}. {example['text']}", ""]
        for cut in example["tokenizers"]:
            lines.append(f"    - {cut['label']} ({cut['tokens']} tokens): `{segments_text(cut['segments'])}`")
        lines.append("")
    lines += ["## Charts", ""]
    for path, caption in content["charts"]:
        lines += [f"![{caption}]({path})", ""]
    lines += ["## Stage timings", ""]
    lines += _table(["stage", "wall s", "CPU s", "outputs"],
                    [[r.name, f"{r.wall_s:.1f}", f"{r.cpu_s:.1f}", f"[{r.out}/]({r.out}/)" if r.out else ""]
                     for r in records])
    lines += ["", total_line(ws, records, figures), "", "## Outputs", ""]
    lines += [f"- [{d}/]({d}/): {OUTPUT_NOTES[d]}" for d in STAGE_DIRS.values() if (ws.out / d).is_dir()]
    lines += ["- manifest.json: the resolved config, inputs, stages and timings, written last", ""]
    return "\n".join(lines)


OUTPUT_NOTES = {
    "data": "the train / held-out split of both corpora (JSONL)",
    "analysis": "mined terms (terms.tsv), fragmentation report",
    "model": "the extended tokenizer and model, with its guarantee checks in manifest.json",
    "distill": "the distilled model, log.jsonl with the distillation losses",
    "train": "the trained (merged) model, adapter/, log.jsonl",
    "eval": "eval.json, new_tokens.tsv, plots",
    "eval-initialized": "eval.json of the extended model before training",
    "bench": "bench.json, bench.md, charts",
    "examples": "examples.json",
}

