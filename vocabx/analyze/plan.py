"""The vocabulary plan as data: the ordered new entries `analyze` learned (`learn`), each a merge of two model
strings or a piece for a character, with the tokens it saves; written to `plan.tsv` beside terms.tsv and applied
as it is by `vocabx extend --terms ANALYSIS_DIR` on the same base tokenizer (checked by its fingerprint), so the
chars/token the analysis projects for a budget is what the extended tokenizer gets on the mined corpus.

plan.tsv: a `# vocabx plan v1 <fingerprint>` line, then a header and one row per entry, in order:
`left right text saved_a saved_b` (model strings in the tokenizer's alphabet, `\\t`, `\\n` and `\\\\` escaped).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from vocabx.adapters import TokenizerAdapter
from vocabx.errors import UsageError

PLAN_FILE = "plan.tsv"
FORMAT = "vocabx plan v1"
COLUMNS = ("left", "right", "text", "saved_a", "saved_b")


@dataclass
class PlanEntry:
    """One new vocabulary entry: the merge of `left` and `right` (model strings), or a piece for the character
    `left` (`right` empty); `text` is what it stands for; `saved_a`/`saved_b`: tokens it saves on each part of the
    mining corpus (A: even documents, B: odd)."""

    left: str
    right: str
    text: str
    saved_a: int
    saved_b: int

    @property
    def piece(self) -> str:
        return self.left + self.right


@dataclass
class Plan:
    """The ordered entries and the mining corpus's base tokens and characters, to project any prefix."""

    entries: list[PlanEntry]
    base_tokens: int
    chars: int
    fingerprint: str = ""

    def tokens_after(self, k: int) -> int:
        """Tokens of the mining corpus once the first `k` entries are in the vocabulary (exact: see `learn`)."""
        return self.base_tokens - sum(e.saved_a + e.saved_b for e in self.entries[:k])


def fingerprint(adapter: TokenizerAdapter) -> str:
    """A short hash of the base vocabulary (every id's string): a plan applies only to the tokenizer it was
    learned on."""
    digest = hashlib.sha256()
    for i in range(adapter.vocab_size):
        digest.update((adapter.id_to_token(i) or "").encode("utf-8", "surrogatepass") + b"\x00")
    return digest.hexdigest()[:16]


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _unescape(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}.get(s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def render_plan(plan: Plan) -> str:
    """The text of plan.tsv."""
    lines = [f"# {FORMAT} {plan.fingerprint} base_tokens={plan.base_tokens} chars={plan.chars}", "\t".join(COLUMNS)]
    lines += ["\t".join((_escape(e.left), _escape(e.right), _escape(e.text), str(e.saved_a), str(e.saved_b)))
              for e in plan.entries]
    return "\n".join(lines) + "\n"


def read_plan(path: str | Path) -> Plan:
    """A plan.tsv back as a `Plan`; `UsageError` for a file that is not one."""
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    if not lines or not lines[0].startswith(f"# {FORMAT} "):
        raise UsageError(f"{path} is not a vocabx plan ({FORMAT})", hint="pass the output directory of vocabx analyze")
    head = lines[0].split()
    fields = dict(f.split("=", 1) for f in head[5:] if "=" in f)
    entries = []
    for line in lines[2:]:
        if line:
            left, right, text, sa, sb = line.split("\t")
            entries.append(PlanEntry(_unescape(left), _unescape(right), _unescape(text), int(sa), int(sb)))
    return Plan(entries, int(fields.get("base_tokens", 0)), int(fields.get("chars", 0)), head[4])
