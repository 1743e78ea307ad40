"""The bench output directory: bench.json, bench.md, PNG charts and manifest.json, written atomically."""

from __future__ import annotations

import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vocabx.bench.report import render_markdown
from vocabx.bench.result import BenchResult
from vocabx.outputs import atomic_output_dir, build_manifest, write_json, write_text_atomic

log = logging.getLogger(__name__)


def write_report(
    result: BenchResult, config: Any, out: str | Path, *, tokenizer_files: Sequence[str] = (), command: str | None = None
) -> list[str]:
    """Write the report into a temporary directory renamed to `out`; return the file names written."""
    command = command or _invocation()
    with atomic_output_dir(out, force=bool(getattr(config, "force", False))) as tmp:
        files = ["bench.json", "bench.md"]
        write_json(tmp / "bench.json", result.to_dict())
        write_text_atomic(tmp / "bench.md", render_markdown(result, command))
        if getattr(config, "charts", True):
            from vocabx.bench.charts import write_charts

            files += write_charts(result, tmp)
        inputs = [f for f in tokenizer_files if Path(f).is_file()]
        inputs += [c.spec for c in result.corpora if Path(c.spec).expanduser().exists()]
        manifest = build_manifest(
            "bench",
            config,
            inputs=inputs,
            counts={
                "tokenizers": len(result.tokenizers),
                "corpora": len(result.corpora),
                "pairs": len(result.rows),
                "documents": {c.label: c.documents for c in result.corpora},
                "roundtrip_failures": {
                    f"{r.tokenizer}/{r.corpus}": r.documents - r.roundtrip_ok for r in result.rows if r.roundtrip_first_failure
                },
                "eval_columns": list(result.extra_columns),
            },
            outputs=[*files, "manifest.json"],
            # Cards and hub datasets are no local path: what the corpus reader resolved them to goes here.
            extra={"reference": result.reference, "corpora": {c.label: c.details for c in result.corpora}},
        )
        write_json(tmp / "manifest.json", manifest)
    log.info("wrote %s", out)
    return [*files, "manifest.json"]


def _invocation() -> str | None:
    """The command line when running as the `vocabx` program (not when called from Python or a test runner)."""
    if Path(sys.argv[0]).name in ("vocabx", "cli.py"):
        return shlex.join(["vocabx", *sys.argv[1:]])
    return None
