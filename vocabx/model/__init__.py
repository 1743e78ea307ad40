"""The model side of vocabx: the embedded default model, checkpoint surgery and embedding initialization.

`is_model(spec)`, `resolve_model(spec)` and `extend_model(base, extension, out_dir, init=...)` are the surface
that `vocabx extend` calls; see `vocabx.model.api`. Loaded on first use, so that importing the torch-free
`vocabx.model.methods` (the init methods' names, which configs use) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from vocabx.model.methods import INIT_HELP, INPUT_METHODS, OUTPUT_METHODS

__all__ = ["INIT_HELP", "INPUT_METHODS", "OUTPUT_METHODS", "extend_model", "is_model", "resolve_model"]
_API = ("extend_model", "is_model", "resolve_model")


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module("vocabx.model.api"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
