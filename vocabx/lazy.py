"""Late imports by name: `"package.module:attribute"` tables (CLI commands, extenders per family) load only
what is used, so one feature's heavy dependencies never load for another."""

from __future__ import annotations

import importlib
from typing import Any


def import_target(target: str) -> Any | None:
    """The object `module:attr` names, or None when that module (not one it imports) is absent.

    `import_target("vocabx.extend.bytelevel:ByteLevelBPEExtender")` -> the class.
    """
    if not target:
        return None
    module_name, attr = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise  # a missing dependency inside the module is a real error, not an absent feature
    return getattr(module, attr, None)
