"""A byte delta between two versions of a file: copy ranges of the old file and insert new bytes, found by a line
diff (lines split at b"\\n": JSON lines, and SentencePiece's pieces, whose protobuf tag byte is 0x0a).

Small for what an extension changes (entries and merges appended, pieces added); stored as readable JSON:
`["copy", start, end]`, `["add", "text"]` (UTF-8), or `["add64", "base64"]` for bytes that are not UTF-8.

    >>> ops = diff(b"a\\nb\\nc\\n", b"a\\nb\\nX\\nc\\n")
    >>> ops
    [['copy', 0, 4], ['add', 'X\\n'], ['copy', 4, 6]]
    >>> apply(b"a\\nb\\nc\\n", ops)
    b'a\\nb\\nX\\nc\\n'
"""

from __future__ import annotations

import base64
import difflib
from itertools import accumulate
from typing import Any

Op = list[Any]


def _split(data: bytes) -> list[bytes]:
    """Pieces ending at b"\\n" (the last may not), which join back to `data` exactly."""
    parts = data.split(b"\n")
    out = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def diff(old: bytes, new: bytes) -> list[Op]:
    """Operations that turn `old` into `new` (see the module docstring)."""
    a, b = _split(old), _split(new)
    starts = [0, *accumulate(len(x) for x in a)]
    ops: list[Op] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=True)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            if ops and ops[-1][0] == "copy" and ops[-1][2] == starts[i1]:
                ops[-1][2] = starts[i2]
            else:
                ops.append(["copy", starts[i1], starts[i2]])
        elif j2 > j1:
            ops.append(_insert(b"".join(b[j1:j2])))
    return ops


def _insert(data: bytes) -> Op:
    try:
        return ["add", data.decode("utf-8")]
    except UnicodeDecodeError:
        return ["add64", base64.b64encode(data).decode("ascii")]


def apply(old: bytes, ops: list[Op]) -> bytes:
    """`new` from `old` and the operations `diff` returned."""
    out = []
    for op in ops:
        if op[0] == "copy":
            out.append(old[op[1]:op[2]])
        elif op[0] == "add":
            out.append(op[1].encode("utf-8"))
        elif op[0] == "add64":
            out.append(base64.b64decode(op[1]))
        else:
            raise ValueError(f"unknown delta operation {op[0]!r}")
    return b"".join(out)


def inserted_bytes(ops: list[Op]) -> int:
    """Bytes the delta carries itself (what the patch costs beyond references to the base)."""
    return sum(len(op[1].encode("utf-8")) if op[0] == "add" else len(base64.b64decode(op[1])) for op in ops
               if op[0] != "copy")
