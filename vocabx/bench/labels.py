"""Short names for benchmarked tokenizers and corpora: `NAME=SPEC` on the command line, else derived; made unique.

>>> split_label("base=runs/model")
('base', 'runs/model')
>>> unique_labels(["llama2", "llama2", "qwen2"])
['llama2', 'llama2-2', 'qwen2']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

# A label is a short token: letters, digits and . _ + - (no '/', so `org/model` hub ids are never split).
LABEL = re.compile(r"^[\w.+-]+$")


def split_label(text: str) -> tuple[str | None, str]:
    """`NAME=SPEC` -> (NAME, SPEC); a plain spec (or an existing path that contains '=') -> (None, spec)."""
    name, sep, spec = text.partition("=")
    if not sep or not spec or not LABEL.match(name) or Path(text).expanduser().exists():
        return None, text
    return name, spec


def corpus_label(spec: str) -> str:
    """A default corpus name: the file or directory name without extension, or the card/dataset id as given; a
    `#FIELD` suffix is not part of it (`tnews.json#sentence` is named as `tnews.json` is)."""
    from vocabx.corpus.specs import split_field

    spec = split_field(spec)[0]
    path = Path(spec).expanduser()
    if path.exists():
        return path.stem if path.is_file() else path.name
    return spec.rstrip("/").split("/")[-1] or spec


def unique_labels(labels: Sequence[str]) -> list[str]:
    """The labels, with `-2`, `-3`, ... appended to repeats so every row of a report has its own name."""
    used: set[str] = set()
    reserved = set(labels)  # a later label spelled `x-2` keeps its name; repeats of `x` skip it
    out: list[str] = []
    for label in labels:
        candidate, n = label, 1
        while candidate in used or (n > 1 and candidate in reserved):
            n += 1
            candidate = f"{label}-{n}"
        used.add(candidate)
        out.append(candidate)
    return out
