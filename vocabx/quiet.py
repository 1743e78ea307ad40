"""Keeping transformers' and peft's own chatter out of vocabx's output while they load, wrap or train a model: the
"Loading weights" bars (vocabx reports its own progress) and a deprecation warning a vocabx user cannot act on."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

# transformers 5 deprecated `PreTrainedModel.is_gradient_checkpointing` (for `is_activation_checkpointing`); peft
# (peft_model.py, mixed_model.py, as of 0.21) still reads the old name in get_peft_model and PeftModel.from_pretrained,
# so every LoRA run warned. No upstream issue found; drop this filter once peft reads the new name.
CHECKPOINTING_WARNING = r"`is_gradient_checkpointing` is deprecated"


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Within: no transformers progress bars (restored afterwards, if they were on) and no FutureWarning about
    `is_gradient_checkpointing`; every other warning and log line passes as before."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=CHECKPOINTING_WARNING, category=FutureWarning)
            yield
    finally:
        if bars:
            hf_logging.enable_progress_bar()
