"""An editable BPE model: the base vocabulary and ranked merges, new entries and merges appended after them, and
an exact Python replay of the `tokenizers` merge loop, so an extender can predict an encoding without rebuilding.

New merges always rank after every existing merge, so an old tokenization changes only where a new merge applies.
"""

from __future__ import annotations

import copy
import functools
import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vocabx.adapters.hf import HFTokenizerAdapter


@dataclass(frozen=True)
class Checkpoint:
    """How many new merges and entries existed at one moment, to roll back a tentative plan."""

    merges: int
    entries: int


class BPEState:
    """Vocabulary, merge ranks and the appended extension of one `tokenizer.json` BPE model.

    `ranks` maps a pair of ids to `(rank, merged id)`, exactly as the Rust `BPE` model's merge map does; ids of
    added tokens (specials above the vocabulary, e.g. Qwen's 151,643..151,664) are reserved, so new ids start after
    the highest id in use.
    """

    def __init__(self, adapter: HFTokenizerAdapter) -> None:
        self.base_spec = adapter.spec
        model = adapter.spec["model"]
        self.vocab: dict[str, int] = dict(model["vocab"])
        self.strings: dict[int, str] = {i: s for s, i in self.vocab.items()}
        self.ignore_merges = bool(model.get("ignore_merges", False))
        self._pair_as_string = bool(model["merges"]) and isinstance(model["merges"][0], str)
        added = adapter.spec.get("added_tokens") or []
        # Strings an added token owns can never become model entries: token_to_id would be ambiguous.
        self.reserved: set[str] = {a["content"] for a in added}
        self.first_new_id = max([*self.vocab.values(), *(a["id"] for a in added), -1]) + 1
        self.n_old_merges = len(model["merges"])
        self.ranks: dict[tuple[int, int], tuple[int, int]] = {}
        for rank, merge in enumerate(model["merges"]):
            left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
            # A later duplicate overwrites an earlier one, as the Rust HashMap collect does.
            self.ranks[(self.vocab[left], self.vocab[right])] = (rank, self.vocab[left + right])
        self.new_merges: list[tuple[int, int]] = []
        self.new_entries: list[str] = []

    # -- editing ---------------------------------------------------------------------------------------------

    @property
    def next_id(self) -> int:
        return self.first_new_id + len(self.new_entries)

    def is_new(self, token_id: int) -> bool:
        return token_id >= self.first_new_id

    def merged_string(self, left: int, right: int) -> str:
        return self.strings[left] + self.strings[right]

    def can_merge(self, left: int, right: int) -> bool:
        """False when the pair already has a merge, or its result is a string an added token owns."""
        return (left, right) not in self.ranks and self.merged_string(left, right) not in self.reserved

    def add_merge(self, left: int, right: int) -> tuple[int, bool]:
        """Append the merge `left right` (ranked last); return the merged id and whether it is a new entry."""
        merged = self.merged_string(left, right)
        created = merged not in self.vocab
        if created:
            self.vocab[merged] = self.next_id
            self.strings[self.next_id] = merged
            self.new_entries.append(merged)
        self.ranks[(left, right)] = (self.n_old_merges + len(self.new_merges), self.vocab[merged])
        self.new_merges.append((left, right))
        return self.vocab[merged], created

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(len(self.new_merges), len(self.new_entries))

    def rollback(self, point: Checkpoint) -> None:
        """Undo every merge and entry added after `point`."""
        while len(self.new_merges) > point.merges:
            del self.ranks[self.new_merges.pop()]
        while len(self.new_entries) > point.entries:
            token = self.new_entries.pop()
            del self.strings[self.vocab.pop(token)]

    # -- encoding --------------------------------------------------------------------------------------------

    def encode_word(self, base_ids: Sequence[int], word: str) -> list[int]:
        """Ids of one pre-token (`word` in the model's alphabet) under the extended model.

        `base_ids` is the base tokenizer's encoding of that pre-token: every new merge ranks after every old one,
        so the Rust loop reaches exactly that state before the first new merge can fire.
        """
        if self.ignore_merges and word in self.vocab:
            return [self.vocab[word]]
        return self.merge_all(base_ids)

    def merge_all(self, ids: Sequence[int]) -> list[int]:
        """Replay `Word::merge_all` from tokenizers (bpe/word.rs): lowest (rank, position) first; a queued merge
        is stale unless the pair now at its position still maps to the same merged id.

        With merges a+b (rank 0) and ab+c (rank 1): [a, b, c] -> [ab, c] -> [abc].
        """
        syms = list(ids)
        n = len(syms)
        if n < 2:
            return syms
        prev = list(range(-1, n - 1))
        nxt = [*range(1, n), -1]
        alive = [True] * n
        ranks = self.ranks
        heap = [(m[0], i, m[1]) for i in range(n - 1) if (m := ranks.get((syms[i], syms[i + 1])))]
        heapq.heapify(heap)
        while heap:
            _, pos, new_id = heapq.heappop(heap)
            right = nxt[pos]
            if not alive[pos] or right == -1:
                continue
            current = ranks.get((syms[pos], syms[right]))
            if current is None or current[1] != new_id:
                continue
            syms[pos] = new_id
            alive[right] = False
            after = nxt[right]
            nxt[pos] = after
            if after != -1:
                prev[after] = pos
            before = prev[pos]
            if before != -1 and (m := ranks.get((syms[before], new_id))):
                heapq.heappush(heap, (m[0], before, m[1]))
            if after != -1 and (m := ranks.get((new_id, syms[after]))):
                heapq.heappush(heap, (m[0], pos, m[1]))
        return [s for s, keep in zip(syms, alive) if keep]

    # -- output ----------------------------------------------------------------------------------------------

    def to_spec(self) -> dict[str, Any]:
        """The extended `tokenizer.json` as a dict: the base's, with entries and merges appended in order."""
        spec = copy.deepcopy(self.base_spec)
        model = spec["model"]
        if self.new_entries:
            # On load, tokenizers gives an added token that the model vocab lacks the id `len(model vocab)`, not
            # the id in the file (AddedVocabulary::add_tokens). Qwen's and DeepSeek's specials sit above the merges
            # by count alone; once the vocab grows they would move. Listing them in the model vocab pins their ids.
            for added in spec.get("added_tokens") or []:
                model["vocab"].setdefault(added["content"], added["id"])
        for token in self.new_entries:
            model["vocab"][token] = self.vocab[token]
        for left, right in self.new_merges:
            pair = (self.strings[left], self.strings[right])
            model["merges"].append(" ".join(pair) if self._pair_as_string else list(pair))
        return spec


@functools.cache
def _byte_decoder() -> dict[str, int]:
    """The GPT-2 byte-to-unicode table, inverted: printable Latin-1 bytes are themselves, the rest U+0100 onwards."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {chr(b): b for b in printable}
    extra = 0
    for b in range(256):
        if b not in printable:
            table[chr(256 + extra)] = b
            extra += 1
    return table


@functools.cache
def _byte_translation() -> dict[int, str]:
    """`_byte_decoder` as a `str.translate` table onto Latin-1 characters (one per byte), with the Latin-1 characters
    that are not in the alphabet mapped outside Latin-1, so that encoding them fails as a lookup would."""
    table = {ord(ch): chr(b) for ch, b in _byte_decoder().items()}
    return {**{c: "\u0100" for c in range(256) if c not in table}, **table}


def token_bytes(token: str) -> bytes:
    """The bytes a byte-level token stands for: `é«ĺ` -> b'\\xe9\\xab\\x98'. KeyError for a character outside
    the byte alphabet (an added token's text). One C-level translate, not a lookup per character: analyze spells
    every vocabulary entry."""
    try:
        return token.translate(_byte_translation()).encode("latin-1")
    except UnicodeEncodeError as exc:
        raise KeyError(token[exc.start]) from None


def token_text(token: str) -> str:
    """The text of a byte-level token; bytes of an unfinished UTF-8 character become U+FFFD."""
    return token_bytes(token).decode("utf-8", errors="replace")
