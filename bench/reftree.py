"""Another commit's vocabx, for a bench to run beside this checkout's: `ref_tree` extracts it and builds its
kernels, `REF_CLI` runs its CLI. Benches compare against a named baseline in the same run this way."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from checks import require

ROOT = Path(__file__).resolve().parents[1]
# The vocabx CLI of a reference tree's package (PYTHONPATH=<tree>, set per command). `-P`: `python -c` would
# otherwise put the working directory first on sys.path, and run from the repository root, the checkout's own
# package would shadow the tree's (every "reference" run of an earlier session ran the checkout).
REF_CLI = [sys.executable, "-P", "-c", "from vocabx.cli import main; main()"]


def ref_tree(ref: str, tree: Path, edit: Callable[[Path], None] | None = None) -> Path:
    """`ref`'s vocabx package extracted into `tree` (`edit` applied to it, if given), its own kernels compiled in
    place (the version its code expects). Checks that REF_CLI with PYTHONPATH=tree imports this tree's package."""
    tree.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "vocabx", "setup.py"], capture_output=True,
                             check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    if edit is not None:
        edit(tree)
    subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=tree, check=True,
                   capture_output=True)
    where = subprocess.run([sys.executable, "-P", "-c", "import vocabx; print(vocabx.__file__)"], capture_output=True,
                           text=True, check=True, env={**os.environ, "PYTHONPATH": str(tree)}).stdout.strip()
    require(Path(where).is_relative_to(tree), f"the {ref} runs would import {where}, not the tree at {tree}")
    return tree
