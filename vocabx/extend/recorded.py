"""The corpus an analyze run read, as its manifest recorded it, for `extend --terms ANALYSIS_DIR`: the absolute
path of every file (so extend runs from any directory), the options it was read with (`--text-field`,
`--skip-bad-records`), and a check that each file is still where it was and unchanged since.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vocabx.errors import CorpusError
from vocabx.outputs import describe_input

log = logging.getLogger(__name__)


@dataclass
class RecordedCorpus:
    """Corpus specs to read (absolute paths where the analysis resolved files), how to read them, and notes on
    what changed since the analysis (said in the extend output and manifest)."""

    specs: tuple[str, ...]
    text_field: str | None = None
    skip_bad_records: bool = False
    notes: list[str] = field(default_factory=list)


def recorded_corpus(analyze_dir: Path) -> RecordedCorpus | None:
    """The corpus of the analyze run in `analyze_dir`, or None when its manifest records none (or is unreadable).

    Raises `CorpusError` when a recorded file is gone: extend would otherwise read something else or nothing."""
    manifest = analyze_dir / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("cannot read %s; no default corpus", manifest)
        return None
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    detail = data.get("corpus") if isinstance(data.get("corpus"), dict) else {}
    sources = detail.get("sources") or [{"spec": s} for s in _as_specs(config.get("corpus"))]
    if not sources:
        return None
    recorded = RecordedCorpus((), config.get("text_field") or detail.get("text_field"),
                              bool(config.get("skip_bad_records")))
    specs: list[str] = []
    for source in sources:
        for entry in source.get("files") or [source]:  # a glob lists its files
            specs.append(_check(entry, analyze_dir, recorded.notes))
    recorded.specs = tuple(specs)
    return recorded


def _as_specs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _check(entry: dict[str, Any], analyze_dir: Path, notes: list[str]) -> str:
    """The spec to read for one recorded source: its absolute path, checked to exist and compared by hash."""
    spec = str(entry.get("spec", ""))
    path = entry.get("path")
    if path is None:  # a dataset id or a card name, or a manifest from before paths were recorded
        if Path(spec).expanduser().exists() or not _looks_local(spec):
            return spec
        raise CorpusError(f"the analysis in {analyze_dir} recorded its corpus only as {spec!r}, relative to where it "
                          "ran", hint="pass --corpus with the corpus path (and --text-field if it has fields)")
    if not Path(path).exists():
        raise CorpusError(f"the corpus the analysis in {analyze_dir} read, {path} (given as {spec!r}), is no longer "
                          "there", hint="pass --corpus with its new location (and --text-field if it has fields)")
    if entry.get("sha256") and describe_input(path).get("sha256") != entry["sha256"]:
        notes.append(f"the corpus {path} changed since the analysis (its hash differs); its current text is used")
        log.warning(notes[-1])
    return str(path)


def _looks_local(spec: str) -> bool:
    """Whether a spec reads as a path (`data/x.csv`, `x.jsonl`) rather than `hf:org/name` or a card name."""
    return not spec.startswith("hf:") and ("/" in spec or Path(spec).suffix != "")
