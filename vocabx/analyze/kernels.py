"""Access to the optional compiled kernels (`_kernels.c`): `native()` is the module, or None where it was not built
or `VOCABX_NATIVE=0` turns it off (tests and benches compare both paths). Callers keep a numpy path that gives the
same results (one exception: the greedy `tokens` objective, where the kernel runs exact lazy greedy and numpy an
approximation in rounds); `engine()` names the one in use, for manifests."""

from __future__ import annotations

import logging
import os
from types import ModuleType

log = logging.getLogger(__name__)
VERSION = 13  # must equal KERNELS_VERSION in _kernels.c
MAX_POSITIONS = 0x7FFFFFF0  # must equal MAX_POSITIONS in _kernels.c: longer inputs take the numpy path

try:
    from vocabx.analyze import _kernels as _compiled
except ImportError:  # built without a C compiler: the numpy paths run
    _compiled = None
if _compiled is not None and getattr(_compiled, "VERSION", None) != VERSION:
    log.warning("ignoring compiled kernels of another version (stale build): reinstall vocabx (pip install -e .)")
    _compiled = None


def native() -> ModuleType | None:
    if os.environ.get("VOCABX_NATIVE", "1") == "0":
        return None
    return _compiled


def engine() -> str:
    return "native" if native() is not None else "numpy"


def require_native() -> ModuleType:
    """The compiled kernels, or a one-line error where they were not built."""
    if _compiled is None:
        from vocabx.errors import VocabxError

        raise VocabxError("vocabx's compiled kernels are not built", hint="reinstall vocabx with a C compiler and "
                          "the Python headers (pip install -e .)")
    return _compiled
