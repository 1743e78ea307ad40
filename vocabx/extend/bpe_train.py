"""Corpus-driven extension of a byte-level BPE: continue BPE training from the existing merges on the domain corpus.

The corpus is cut into pre-tokens exactly as the base cuts it, each distinct pre-token is tokenized by the base
model, and BPE training continues from those token sequences: the most frequent adjacent pair becomes the next
merge (ranked after every old one), until the budget of new entries is used. The pair counting runs in the Rust
`tokenizers.trainers.BpeTrainer`, which updates counts incrementally per merge; each base token is handed to it as
one private symbol (U+10000 + k), so it learns merges of base tokens, not of characters.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator, Sequence

from tokenizers import Tokenizer, models, trainers

from vocabx.adapters.hf import HFTokenizerAdapter
from vocabx.extend.base import Extension, NewEntry
from vocabx.extend.bpe_state import BPEState, token_bytes, token_text

log = logging.getLogger(__name__)

_SYMBOL_BASE = 0x10000  # supplementary planes: no whitespace, no normalization, room for a million symbols
# Ask the trainer for more merges than the budget: some merges rebuild a string the base already has (free).
_SLACK = 1.1
MIN_FREQUENCY = 2  # a merge seen once saves one token once; it is not worth an id


def count_pretokens(base: HFTokenizerAdapter, corpus: Sequence[str]) -> Counter[str]:
    """Pre-token frequencies over the corpus, in the model's alphabet (`Ġthe`, `é«ĺè¡Ģåİĭ...`)."""
    normalizer, pre = base.tokenizer.normalizer, base.tokenizer.pre_tokenizer
    counts: Counter[str] = Counter()
    for text in corpus:
        normalized = normalizer.normalize_str(text) if normalizer is not None else text
        counts.update(w for w, _ in pre.pre_tokenize_str(normalized)) if pre is not None else counts.update([normalized])
    return counts


def learn_merges(
    base: HFTokenizerAdapter, words: Counter[str], n_merges: int, progress: bool = False
) -> list[tuple[list[int], list[int]]]:
    """Up to `n_merges` merges learned on top of the base tokenization, each as (left ids, right ids) in base ids.

    A word the base tokenizes as [a, b, a, b] with (a, b) most frequent yields first ([a], [b]), then ([a, b], [a, b]).
    """
    model = base.tokenizer.model
    tokenized = {w: [t.id for t in model.tokenize(w)] for w in words}
    alphabet = sorted({i for ids in tokenized.values() for i in ids})
    symbol = {token_id: chr(_SYMBOL_BASE + k) for k, token_id in enumerate(alphabet)}
    back = {s: token_id for token_id, s in symbol.items()}

    def sequences() -> Iterator[str]:
        for word, ids in tokenized.items():
            if len(ids) > 1:  # a word that is already one token has no pair to count
                text = "".join(symbol[i] for i in ids)
                for _ in range(words[word]):
                    yield text

    trainer = trainers.BpeTrainer(
        vocab_size=len(alphabet) + n_merges, min_frequency=MIN_FREQUENCY, show_progress=progress, special_tokens=[]
    )
    learner = Tokenizer(models.BPE())
    learner.train_from_iterator(sequences(), trainer=trainer, length=sum(words.values()))
    merges = json.loads(learner.to_str())["model"]["merges"]
    pairs = (m.split(" ", 1) if isinstance(m, str) else m for m in merges)
    return [([back[c] for c in left], [back[c] for c in right]) for left, right in pairs]


def extend_by_training(
    base: HFTokenizerAdapter, corpus: Sequence[str], budget: int, progress: bool = False
) -> Extension:
    """Learn merges on the corpus until `budget` new entries exist; drop entries the corpus never produces."""
    words = count_pretokens(base, corpus)
    learned = learn_merges(base, words, int(budget * _SLACK) + 16, progress=progress)
    state = BPEState(base)
    _apply(state, learned, budget)
    dead = _dead_entries(state, corpus)
    if dead:
        # Replay without them, so that ids stay contiguous and no merge refers to a dropped entry.
        log.info("dropping %d learned entries that the corpus never produces", len(dead))
        state = BPEState(base)
        _apply(state, learned, budget, exclude=dead)
    added = [NewEntry(t, token_text(t), state.vocab[t], _kind(t)) for t in state.new_entries]  # type: ignore[arg-type]
    notes = [
        (f"continued BPE training on {sum(words.values())} pre-tokens ({len(words)} distinct) of the corpus: "
        f"{len(state.new_merges)} merges ranked after the {state.n_old_merges} base merges"),
    ]
    if len(added) < budget:
        notes.append(f"the corpus supports {len(added)} entries (pairs seen at least {MIN_FREQUENCY} times), not {budget}")
    skipped = {"unreachable": sorted(dead)} if dead else {}
    json_text = json.dumps(state.to_spec(), ensure_ascii=False)
    extended = HFTokenizerAdapter(json_text, f"{base.name}+{len(added)}", base.source)
    return Extension(base, extended, added, skipped, family=base.family, notes=notes)


def _apply(
    state: BPEState, learned: list[tuple[list[int], list[int]]], budget: int, exclude: frozenset[str] | set[str] = frozenset()
) -> None:
    """Append learned merges in order until `budget` entries are new; skip any that cannot be expressed."""
    for left_ids, right_ids in learned:
        if len(state.new_entries) >= budget:
            return
        left, right = _piece_id(state, left_ids), _piece_id(state, right_ids)
        if left is None or right is None or not state.can_merge(left, right):
            continue  # a dropped piece, or a pair two learned pieces with equal strings already cover
        if state.merged_string(left, right) in exclude:
            continue
        state.add_merge(left, right)


def _piece_id(state: BPEState, ids: list[int]) -> int | None:
    if len(ids) == 1:
        return ids[0]
    return state.vocab.get("".join(state.strings[i] for i in ids))


def _dead_entries(state: BPEState, corpus: Sequence[str]) -> set[str]:
    """New entries that never come out of the corpus encoding, and are no part of one that does."""
    tokenizer = Tokenizer.from_str(json.dumps(state.to_spec(), ensure_ascii=False))
    produced: set[int] = set()
    for encoding in tokenizer.encode_batch(list(corpus), add_special_tokens=False):
        produced.update(encoding.ids)
    live = set(produced)
    for left, right in reversed(state.new_merges):  # a live result keeps the pieces it is built from alive
        if state.vocab[state.merged_string(left, right)] in live:
            live.update((left, right))
    return {t for t in state.new_entries if state.vocab[t] not in live}


def _kind(token: str) -> str:
    """`term` for a piece of whole characters, `intermediate` for one that ends inside a UTF-8 character."""
    try:
        token_bytes(token).decode("utf-8")
    except UnicodeDecodeError:
        return "intermediate"
    return "term"
