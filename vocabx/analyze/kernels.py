"""The compiled kernels of `analyze`: jieba's segmentation (`_jieba.c`), the vocabulary learner (`_learn.c`) and
the GPT-2 pre-tokenizer (`_kernels.c`), each the only implementation of its loop. Built with the package
(setup.py, not optional: a missing C compiler fails the install loudly); `native()` returns the module, or raises
a one-line error where a stale or missing build is found. Which loops are compiled, and why only these (the
n-gram, span and hash-lookup loops are numpy): measured in bench/RESULTS.md, whole `vocabx analyze` processes
with and without each kernel."""

from __future__ import annotations

import logging
from types import ModuleType

log = logging.getLogger(__name__)
VERSION = 16  # must equal KERNELS_VERSION in _kernels.c

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
