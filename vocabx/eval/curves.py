"""Training curves from a `vocabx train` output's log.jsonl: loss and held-out bits per character against step."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

LOG_NAME = "log.jsonl"


@dataclass
class Curves:
    """(step, value) series; `skipped` counts log lines that did not parse."""

    loss: list[tuple[int, float]] = field(default_factory=list)
    eval_bpc: list[tuple[int, float]] = field(default_factory=list)
    stages: dict[str, int] = field(default_factory=dict)  # stage name -> its first logged step
    skipped: int = 0

    def __bool__(self) -> bool:
        return bool(self.loss or self.eval_bpc)

    def as_dict(self) -> dict:
        return {"loss": [list(p) for p in self.loss], "eval_bpc": [list(p) for p in self.eval_bpc],
                "stages": self.stages, "skipped_lines": self.skipped}


def read_curves(model_dir: Path) -> Curves:
    """The loss and eval_bpc records of MODEL/log.jsonl (empty `Curves` when there is no log).

    A record is `{"step": 10, "loss": 2.3, ...}` or `{"step": 10, "eval_bpc": 1.7, ...}`; other keys are ignored.
    """
    curves = Curves()
    path = model_dir / LOG_NAME
    if not path.is_file():
        return curves
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            step = int(record["step"])
        except (ValueError, KeyError, TypeError):
            curves.skipped += 1
            continue
        for key, series in (("loss", curves.loss), ("eval_bpc", curves.eval_bpc)):
            if isinstance(record.get(key), (int, float)):
                series.append((step, float(record[key])))
        stage = record.get("stage")
        if isinstance(stage, str) and stage not in curves.stages:
            curves.stages[stage] = step
    if curves.skipped:
        log.warning("%s: %d lines did not parse; left out of the curves", path, curves.skipped)
    return curves
