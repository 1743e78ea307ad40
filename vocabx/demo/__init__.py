"""`vocabx demo`: the whole pipeline (split, analyze, extend, train, eval, bench, examples, report) on embedded
offline defaults or a user's corpus and model, with a Markdown and an HTML report."""

from vocabx.demo.config import DemoConfig
from vocabx.demo.pipeline import DemoResult, StageRecord, run_demo

__all__ = ["DemoConfig", "DemoResult", "StageRecord", "run_demo"]
