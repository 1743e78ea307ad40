"""`run_demo(config)`: validate every input, then run the demo's stages in order into OUT, each timed (wall and
CPU seconds), then write the report and, last, OUT/manifest.json. A failed stage leaves OUT/failed.json and no
manifest or report, so a partial run never looks complete."""

from __future__ import annotations

import logging
import resource
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from vocabx.demo.config import DemoConfig
from vocabx.demo.stages import FIELD_FLAGS, STAGE_DIRS, STAGES, TRAINED_ONLY, Workspace
from vocabx.errors import ModelError, VocabxError
from vocabx.outputs import IN_PROGRESS_NAME, MANIFEST_NAME, build_manifest, check_output_dir, write_json

log = logging.getLogger(__name__)

FAILED_NAME = "failed.json"


@dataclass
class StageRecord:
    """One finished stage: how long it took (wall and CPU seconds, worker processes included), where it wrote,
    and its summary."""

    name: str
    wall_s: float
    cpu_s: float
    out: str | None  # directory relative to OUT
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class DemoResult:
    """A finished demo: OUT, the stages in order, the headline figures, and the report files."""

    out: Path
    stages: list[StageRecord]
    figures: dict[str, Any]
    report_md: Path
    report_html: Path
    seconds: float


def _cpu_seconds() -> float:
    """User + system seconds of this process and its reaped children (analyze's workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def stage_names(config: DemoConfig) -> list[str]:
    """The stages this config runs, in order (training and the untrained model's eval only when it trains); the
    report comes last."""
    return [name for name in STAGES if (name not in TRAINED_ONLY or config.trains)
            and (name != "distill" or config.distills)] + ["report"]


def validate(config: DemoConfig) -> Path:
    """Everything that can be checked before any work: OUT, the corpora, the model and the tokenizers."""
    from vocabx.adapters import load_tokenizer
    from vocabx.corpus import CorpusConfig, open_corpus
    from vocabx.demo.stages import compare_specs
    from vocabx.model.api import is_model

    out = check_output_dir(config.out, force=config.force, inputs=[*config.corpus, *config.general, config.model])
    for role, specs in (("domain", config.corpus), ("general", config.general)):
        flags = (("text_field", FIELD_FLAGS[role]),)
        corpus = open_corpus(list(specs), CorpusConfig(text_field=config.text_field, max_docs=1, flags=flags))
        next(iter(corpus), None)  # reads one document: an unreadable file or a wrong field fails now
    if not is_model(config.model):
        raise ModelError(f"{config.model!r} is not a model (no weights found)",
                         hint="pass --model DIR with config.json and *.safetensors, or smollm2-135m")
    load_tokenizer(config.model)
    for spec in compare_specs(config.compare):
        load_tokenizer(spec.split("=", 1)[1])
    return out


def run_demo(config: DemoConfig, progress: bool = False,
             on_stage: Callable[[StageRecord], None] | None = None) -> DemoResult:
    """Run the whole demo into `config.out` (see the module docstring); `on_stage` hears of each finished stage."""
    started = time.perf_counter()
    out = validate(config)
    if out.exists():
        shutil.rmtree(out)  # --force, and validated above as a previous vocabx output
    out.mkdir(parents=True)
    # Marks OUT as vocabx's own until the manifest is written, so that --force may replace a killed or failed run.
    write_json(out / IN_PROGRESS_NAME, {"command": "demo", "config": config})
    ws = Workspace(config, out, progress, started=started)
    records: list[StageRecord] = []
    for name in stage_names(config)[:-1]:
        records.append(_run_stage(name, partial(STAGES[name], ws), ws, records, on_stage))
    records.append(_run_stage("report", lambda: _report(ws, records), ws, records, on_stage))
    figures = records[-1].summary.pop("figures")  # kept once in the manifest, not twice
    seconds = records[-1].summary.pop("total_s")  # the total the report quotes (to its writing), quoted everywhere
    _write_manifest(ws, records, figures, seconds)
    (out / IN_PROGRESS_NAME).unlink()
    return DemoResult(out, records, figures, out / "report.md", out / "report.html", seconds)


def _run_stage(name: str, call: Callable[[], dict[str, Any]], ws: Workspace, done: list[StageRecord],
               on_stage: Callable[[StageRecord], None] | None) -> StageRecord:
    """Time one stage; on failure write failed.json and re-raise with the stage named."""
    log.info("demo stage %s", name)
    wall, cpu = time.perf_counter(), _cpu_seconds()
    try:
        summary = call()
    except BaseException as exc:
        _write_failed(ws, name, exc, done, time.perf_counter() - wall)
        if isinstance(exc, VocabxError):
            exc.message = f"demo stage {name!r} failed: {exc.message}"
            exc.hint = f"{exc.hint}; " if exc.hint else ""
            exc.hint += f"partial outputs and what ran are in {ws.out / FAILED_NAME}; rerun with --force"
        raise
    record = StageRecord(name, round(time.perf_counter() - wall, 2), round(_cpu_seconds() - cpu, 2),
                         STAGE_DIRS.get(name), summary)
    log.info("%s: %.1f s wall, %.1f s CPU", name, record.wall_s, record.cpu_s)
    if on_stage is not None:
        on_stage(record)
    return record


def _write_failed(ws: Workspace, stage: str, exc: BaseException, done: list[StageRecord], seconds: float) -> None:
    write_json(ws.out / FAILED_NAME, {
        "status": "failed", "failed_stage": stage, "error": type(exc).__name__, "message": str(exc),
        "seconds_in_failed_stage": round(seconds, 2), "completed_stages": done, "config": ws.config,
        "note": "this run is incomplete: no report.md, report.html or manifest.json were written"})


def _report(ws: Workspace, records: list[StageRecord]) -> dict[str, Any]:
    from vocabx.demo.report import write_reports

    return write_reports(ws, records)


def _write_manifest(ws: Workspace, records: list[StageRecord], figures: dict[str, Any], seconds: float) -> None:
    """The mark of a complete run, written last: config, inputs, stages with timings, headline figures."""
    c = ws.config
    outputs = ["report.md", "report.html", MANIFEST_NAME, *sorted({r.out for r in records if r.out})]
    counts = {"stages": len(records), "seconds": seconds, "wall_s": {r.name: r.wall_s for r in records},
              "cpu_s": {r.name: r.cpu_s for r in records}}
    manifest = build_manifest("demo", c, inputs=[*c.corpus, *c.general, c.model], counts=counts, outputs=outputs,
                              extra={"status": "complete", "stages": records, "figures": figures})
    write_json(ws.out / MANIFEST_NAME, manifest)
