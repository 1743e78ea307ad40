"""The model side of vocabx: the embedded default model, checkpoint surgery and embedding initialization.

`is_model(spec)`, `resolve_model(spec)` and `extend_model(base, extension, out_dir, init=...)` are the surface
that `vocabx extend` calls; see `vocabx.model.api`.
"""

from vocabx.model.api import extend_model, is_model, resolve_model
from vocabx.model.init import INIT_HELP, INPUT_METHODS, OUTPUT_METHODS

__all__ = ["INIT_HELP", "INPUT_METHODS", "OUTPUT_METHODS", "extend_model", "is_model", "resolve_model"]
