"""The public entry points of `vocabx train`: continued pretraining, instruction tuning and LoRA merge."""

from __future__ import annotations

from vocabx.train.cpt import train_cpt
from vocabx.train.distill import train_distill
from vocabx.train.merge import merge_adapter
from vocabx.train.sft import train_sft

__all__ = ["merge_adapter", "train_cpt", "train_distill", "train_sft"]
