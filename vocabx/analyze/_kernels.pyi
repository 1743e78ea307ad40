# The compiled extension built from _kernels.c, _jieba.c and _learn.c (setup.py): mypy reads no shared library, so
# this stub declares it. Callers reach its functions through `vocabx.analyze.kernels.native()`, a ModuleType.
from typing import Any

VERSION: int

def __getattr__(name: str) -> Any: ...
