"""`new_entries.tsv`: the human-readable list of what an extension added (id, kind, token, text), written next to
the tokenizer so that `vocabx verify` and people can tell terms from intermediates later.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vocabx.extend.base import NewEntry

ENTRIES_FILE = "new_entries.tsv"
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def write_entries(entries: Sequence[NewEntry], out_dir: Path) -> str:
    """Write the entries in id order, one per line (tabs and newlines escaped); return the file name."""
    lines = ["id\tkind\ttoken\ttext"]
    for e in sorted(entries, key=lambda e: e.id):
        lines.append(f"{e.id}\t{e.kind}\t{_escape(e.token)}\t{_escape(e.text)}")
    (Path(out_dir) / ENTRIES_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ENTRIES_FILE


def read_entries(directory: Path) -> list[NewEntry] | None:
    """The entries a vocabx output directory lists, or None when it has no new_entries.tsv."""
    path = Path(directory) / ENTRIES_FILE
    if not path.is_file():
        return None
    out = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        token_id, kind, token, text = line.split("\t")
        out.append(NewEntry(_unescape(token), _unescape(text), int(token_id), kind))  # type: ignore[arg-type]
    return out


def _escape(text: str) -> str:
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return text


def _unescape(text: str) -> str:
    out, i = [], 0
    table = {escaped[1]: raw for raw, escaped in _ESCAPES}
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in table:
            out.append(table[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
