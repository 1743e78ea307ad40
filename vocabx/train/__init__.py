"""Training on an extended vocabulary: continued pretraining with replay (`train_cpt`), instruction tuning
(`train_sft`) and LoRA merging (`merge_adapter`), on the Hugging Face Trainer so the same run scales out."""

from vocabx.train.config import CPTConfig, MergeConfig, SFTConfig

__all__ = ["CPTConfig", "MergeConfig", "SFTConfig", "merge_adapter", "train_cpt", "train_sft"]


def __getattr__(name: str):
    # The runs import torch and transformers; load them only when a run is asked for, not for `--help`.
    if name in ("train_cpt", "train_sft", "merge_adapter"):
        from vocabx.train import api

        return getattr(api, name)
    raise AttributeError(name)
