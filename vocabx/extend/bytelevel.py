"""The byte-level BPE extender (GPT-2, Llama-3, Qwen, DeepSeek, SmolLM2): each term becomes a real vocabulary entry
reached by a chain of new merges ranked after all existing ones, with intermediates counted against the budget.

`mode="train"` instead continues BPE training on the domain corpus (`vocabx.extend.bpe_train`).
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from vocabx.adapters.base import TokenizerAdapter
from vocabx.adapters.hf import HFTokenizerAdapter
from vocabx.errors import TokenizerError, UsageError
from vocabx.extend.base import Extender, Extension, NewEntry
from vocabx.extend.bpe_state import BPEState, token_text

if TYPE_CHECKING:
    from vocabx.analyze.plan import Plan

log = logging.getLogger(__name__)

# Scripts written with spaces between words: inside running text such a word is the pre-token " word", so that
# (`Ġword`) is the entry that will be reached; a bare `word` only occurs at the very start of a text.
_SPACED_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC", "ARMENIAN", "GEORGIAN", "HEBREW", "ARABIC", "DEVANAGARI", "HANGUL")

# Never plan a chain longer than this: a term of 64 byte tokens is a sentence, not a vocabulary entry.
_MAX_CHAIN = 64


def running_form(term: str) -> str:
    """The text a term's token stands for inside running text: `hypertension` -> ` hypertension`, `高血压` as is."""
    name = unicodedata.name(term[0], "") if term else ""
    return f" {term}" if name.startswith(_SPACED_SCRIPTS) else term


class ByteLevelBPEExtender(Extender):
    """Adds terms to a byte-level BPE as new entries plus merges (terms mode), or learns merges from a corpus."""

    families = ("bytelevel-bpe",)

    def __init__(self, mode: Literal["terms", "train"] = "terms", progress: bool = False) -> None:
        self.mode = mode
        self.progress = progress

    def extend(
        self, base: TokenizerAdapter, terms: Sequence[str], budget: int, corpus: Sequence[str] | None = None
    ) -> Extension:
        if not isinstance(base, HFTokenizerAdapter) or base.family not in self.families:
            raise TokenizerError(
                f"{base.name} is a {base.family} tokenizer, not byte-level BPE",
                hint="the byte-level extender needs a tokenizer.json with a ByteLevel pre-tokenizer",
            )
        if self.mode == "train":
            from vocabx.extend.bpe_train import extend_by_training

            if not corpus:
                raise UsageError("--mode train needs a domain corpus", hint="pass --corpus, or --terms an analyze dir")
            return extend_by_training(base, corpus, budget, progress=self.progress)
        return _TermPlanner(base, terms).run(budget)

    def extend_plan(self, base: TokenizerAdapter, plan: Plan, budget: int) -> Extension:
        """The plan's first `budget` merges in order, each ranked after every existing merge (a merge whose result
        the vocabulary has already adds no entry). Entries of whole text are terms; pieces of a character are
        intermediates."""
        if not isinstance(base, HFTokenizerAdapter) or base.family not in self.families:
            raise TokenizerError(f"{base.name} is a {base.family} tokenizer, not byte-level BPE",
                                 hint="apply a plan to the tokenizer it was learned on (vocabx analyze --tokenizer)")
        state = BPEState(base)
        skipped: list[str] = []
        for entry in plan.entries[:budget]:  # the plan's first `budget` entries, as the analysis projected them
            left, right = state.vocab.get(entry.left), state.vocab.get(entry.right)
            if left is None or right is None or not state.can_merge(left, right):
                skipped.append(entry.text)  # a character piece (SentencePiece's) or a pair taken already
                continue
            state.add_merge(left, right)
        added = [NewEntry(t, token_text(t), state.vocab[t], "intermediate" if "\ufffd" in token_text(t) else "term")
                 for t in state.new_entries]
        extended = HFTokenizerAdapter(_dump(state), f"{base.name}+{len(added)}", base.source)
        notes = [f"{len(state.new_merges)} merges from the analysis plan, ranked after the {state.n_old_merges} base "
                 f"merges ({len(added)} new entries)"]
        return Extension(base, extended, added, {"invalid": skipped} if skipped else {}, family=base.family,
                         notes=notes)

    def save(self, extension: Extension, out_dir: Path) -> list[str]:
        from vocabx.extend.hf_files import write_tokenizer_dir

        return write_tokenizer_dir(extension, out_dir)


class _TermPlanner:
    """Greedy, in rank order: plan each term's merge chain on top of everything added so far, keep it if the
    budget allows, roll it back otherwise. Chains grow whole characters first and prefer pieces shared by many
    candidate terms, so intermediates are reused."""

    def __init__(self, base: HFTokenizerAdapter, terms: Sequence[str]) -> None:
        self.base = base
        self.state = BPEState(base)
        self.terms = list(terms)
        self.forms = [running_form(t) for t in self.terms]
        self.shared = _substring_counts(self.forms)
        self.skipped: dict[str, list[str]] = {}
        self.kind: dict[int, str] = {}  # new id -> "term" | "intermediate"
        self.term_of: dict[int, str] = {}  # new id -> the term it was added for

    def run(self, budget: int) -> Extension:
        base_ids = self.base.encode_batch(self.forms)
        for term, form, ids in zip(self.terms, self.forms, base_ids):
            self._add(term, form, ids, budget)
        dropped = self._drop_unreachable()
        return self._extension(budget, dropped)

    def _add(self, term: str, form: str, ids: list[int], budget: int) -> None:
        if self.base.token_to_id(term) is not None or self.base.token_to_id(self.base.term_to_token(form)) is not None:
            self.skipped.setdefault("already_present", []).append(term)  # a vocabulary entry or an added token
            return
        if len(self.base.pretokenize(form)) != 1:
            self.skipped.setdefault("crosses_pretoken_boundary", []).append(term)
            return
        word = self.base.term_to_token(form)
        current = self.state.encode_word(ids, word)
        if len(current) == 1:
            if not self.state.is_new(current[0]):
                self.skipped.setdefault("already_present", []).append(term)
            else:  # reached already as another term's intermediate: now it is a term of its own
                self.kind[current[0]] = "term"
                self.term_of[current[0]] = term
            return
        point = self.state.checkpoint()
        final = self._chain(ids, word, form, budget - point.entries)
        if isinstance(final, str):  # the reason it cannot be added
            self.state.rollback(point)
            self.skipped.setdefault(final, []).append(term)
            return
        for token in self.state.new_entries[point.entries :]:
            self.kind[self.state.vocab[token]] = "intermediate"
        self.kind[final] = "term"
        self.term_of[final] = term

    def _chain(self, ids: list[int], word: str, form: str, allowance: int) -> int | str:
        """Append merges until `word` encodes to one token and return its id; or the skip reason: `over_budget`
        when that costs more than `allowance` entries, `unreachable` when no chain gets there."""
        starts = _char_starts(form)
        current = self.state.encode_word(ids, word)
        cost = 0
        for _ in range(_MAX_CHAIN):
            if len(current) == 1:
                return current[0]
            pair = self._best_pair(current, starts, form)
            if pair is None:
                return "unreachable"  # every adjacent pair is taken or would collide with an added token's string
            cost += self.state.add_merge(*pair)[1]
            if cost > allowance:
                return "over_budget"
            after = self.state.encode_word(ids, word)
            if len(after) >= len(current):
                return "unreachable"  # the replay disagrees with the plan; never keep a chain we cannot reach
            current = after
        return "over_budget"  # longer than _MAX_CHAIN merges: a sentence, not an entry

    def _best_pair(self, current: list[int], starts: dict[int, int], form: str) -> tuple[int, int] | None:
        """The pair to merge next: a piece already in the vocabulary, else one inside a character, else the
        character-aligned piece most candidate terms share, leftmost first."""
        best, best_key, offset = None, None, 0
        strings = self.state.strings
        for i in range(len(current) - 1):
            left, right = current[i], current[i + 1]
            start, end = offset, offset + len(strings[left]) + len(strings[right])
            offset += len(strings[left])
            if not self.state.can_merge(left, right):
                continue
            aligned = start in starts and end in starts
            inside = not any(start < s < end for s in starts)
            shared = self.shared.get(form[starts[start] : starts[end]], 0) if aligned else 0
            key = (self.state.merged_string(left, right) in self.state.vocab, inside, aligned, shared, -i)
            if best_key is None or key > best_key:
                best, best_key = (left, right), key
        return best

    def _drop_unreachable(self) -> list[str]:
        """Encode every added term with the real `tokenizers` model; demote any whose token does not come out.

        The plan replays the Rust merge loop, so this should never fire; it guards the guarantee, not the plan.
        A demoted entry stays as an intermediate: later terms' chains may be built on it.
        """
        tokenizer = HFTokenizerAdapter(_dump(self.state), self.base.name, self.base.source)
        items = list(self.term_of.items())
        got = tokenizer.encode_batch([running_form(term) for _, term in items])
        dropped = []
        for (token_id, term), ids in zip(items, got):
            if ids != [token_id]:
                self.kind[token_id] = "intermediate"
                del self.term_of[token_id]
                dropped.append(term)
        if dropped:
            log.warning("%d planned terms are not reached by the real tokenizer; kept only as intermediates", len(dropped))
        return dropped

    def _extension(self, budget: int, dropped: list[str]) -> Extension:
        state = self.state
        added = [
            NewEntry(token, token_text(token), state.vocab[token], self.kind[state.vocab[token]])  # type: ignore[arg-type]
            for token in state.new_entries
        ]
        skipped = dict(self.skipped)
        if dropped:
            skipped["unreachable"] = dropped
        notes = []
        if len(added) < budget and not skipped.get("over_budget"):
            notes.append(f"budget {budget} is more than all valid terms need; used {len(added)} entries")
        extended = HFTokenizerAdapter(_dump(state), f"{self.base.name}+{len(added)}", self.base.source)
        return Extension(self.base, extended, added, skipped, family=self.base.family, notes=notes)


def _dump(state: BPEState) -> str:
    return json.dumps(state.to_spec(), ensure_ascii=False)


def _char_starts(form: str) -> dict[int, int]:
    """Byte offset of each character boundary in `form` -> character index (the end included)."""
    starts, offset = {}, 0
    for index, ch in enumerate(form):
        starts[offset] = index
        offset += len(ch.encode("utf-8"))
    starts[offset] = len(form)
    return starts


def _substring_counts(forms: Sequence[str]) -> Counter[str]:
    """How many candidate terms contain each substring of two or more characters: the pieces worth sharing."""
    counts: Counter[str] = Counter()
    for form in set(forms):
        counts.update({form[i:j] for i in range(len(form)) for j in range(i + 2, min(len(form), i + 16) + 1)})
    return counts
