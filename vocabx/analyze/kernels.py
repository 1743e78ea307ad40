"""The compiled kernels of `analyze` (`_kernels.c`, `_jieba.c`, `_learn.c`): the only implementation of its inner
loops. Built with the package (setup.py, not optional: a missing C compiler fails the install loudly); `native()`
returns the module, or raises a one-line error where a stale or missing build is found. Why compiled code and no
numpy twin: measured in bench/RESULTS.md (whole `vocabx analyze` processes with and without the kernels)."""

from __future__ import annotations

import logging
from types import ModuleType

log = logging.getLogger(__name__)
VERSION = 15  # must equal KERNELS_VERSION in _kernels.c
MAX_POSITIONS = 0x7FFFFFF0  # must equal MAX_POSITIONS in _kernels.c: a shard holds fewer positions

try:
    from vocabx.analyze import _kernels

    _compiled: ModuleType | None = _kernels
except ImportError:
    _compiled = None


def native() -> ModuleType:
    """The compiled kernels; `VocabxError` (with the fix) where they are missing or from another version."""
    if _compiled is None or getattr(_compiled, "VERSION", None) != VERSION:
        from vocabx.errors import VocabxError

        state = "missing" if _compiled is None else f"version {getattr(_compiled, 'VERSION', '?')}, not {VERSION}"
        raise VocabxError(f"vocabx's compiled kernels are {state}",
                          hint="reinstall vocabx (pip install -e .) with a C compiler and the Python headers")
    return _compiled
