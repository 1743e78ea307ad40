"""Continued-pretraining data: documents packed into fixed-length token blocks, and the deterministic
interleaving of domain blocks with general-data replay blocks at a given ratio."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from vocabx.errors import CorpusError

log = logging.getLogger(__name__)

TOKENIZE_BATCH = 256  # documents per tokenizer call: enough to amortise the call, small enough to stop early


@dataclass
class Packed:
    """Blocks of `block_size` token ids cut from one concatenated stream, and how many characters each covers."""

    ids: np.ndarray  # [n_blocks, block_size] int32
    chars: np.ndarray  # [n_blocks] float64: a document's characters spread evenly over its tokens
    documents: int = 0
    dropped_tail_tokens: int = 0

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def pack_texts(
    texts: Iterable[str], tokenizer, block_size: int, max_blocks: int | None = None, name: str = "data"
) -> Packed:
    """Tokenize documents, append EOS after each, concatenate and cut into full blocks (the tail is dropped).

    With one token per character and `block_size=2`, `["ab", "c"]` gives the blocks `[[a, b], [EOS, c]]`; the
    tail `[EOS]` is dropped.
    """
    sep = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.bos_token_id
    ids: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    n_tokens = documents = 0
    limit = None if max_blocks is None else max_blocks * block_size
    for batch in _batches(texts):
        for doc_ids, doc_text in zip(tokenizer(batch, add_special_tokens=False)["input_ids"], batch):
            doc = np.asarray(doc_ids + ([sep] if sep is not None else []), dtype=np.int32)
            if doc.size == 0:
                continue
            ids.append(doc)
            weights.append(np.full(doc.size, len(doc_text) / doc.size))
            n_tokens += doc.size
            documents += 1
        if limit is not None and n_tokens >= limit:
            break
    if n_tokens < block_size:
        raise CorpusError(
            f"{name} gave {n_tokens} tokens, fewer than one block of {block_size}",
            hint="add more text, or lower --block-size",
        )
    n_blocks = n_tokens // block_size if limit is None else min(n_tokens, limit) // block_size
    used = n_blocks * block_size
    flat = np.concatenate(ids)[:used].reshape(n_blocks, block_size)
    chars = np.concatenate(weights)[:used].reshape(n_blocks, block_size).sum(axis=1)
    log.info("%s: %d documents, %d tokens -> %d blocks of %d", name, documents, n_tokens, n_blocks, block_size)
    return Packed(flat, chars, documents, dropped_tail_tokens=n_tokens - used if limit is None else 0)


def source_share(needed: int, sources: int) -> int:
    """Blocks or windows each replay source gives: an equal share of `needed` (read as one stream, the first source
    would fill them all and the later ones would never be read). A source shorter than its share gives what it has;
    the mix repeats replay examples cyclically where fewer than needed exist.

    >>> source_share(7, 2)
    4
    """
    return -(-needed // max(1, sources))


def pack_sources(sources: Mapping[str, Iterable[str]], tokenizer, block_size: int, needed: int,
                 name: str = "--replay") -> tuple[Packed, dict[str, int]]:
    """`needed` blocks, `source_share` from each source read in order, with the blocks each gave."""
    share = source_share(needed, len(sources))
    parts = {spec: pack_texts(texts, tokenizer, block_size, share, name=f"{name} {spec}")
             for spec, texts in sources.items()}
    packed = Packed(np.concatenate([p.ids for p in parts.values()])[:needed],
                    np.concatenate([p.chars for p in parts.values()])[:needed],
                    sum(p.documents for p in parts.values()))
    return packed, {spec: len(p) for spec, p in parts.items()}


def _batches(texts: Iterable[str]) -> Iterable[list[str]]:
    """Group a text stream into lists of TOKENIZE_BATCH documents."""
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == TOKENIZE_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def replay_blocks_needed(n_domain: int, ratio: float) -> int:
    """Replay blocks that make `ratio` of all blocks replay: n_r / (n_d + n_r) = ratio.

    >>> replay_blocks_needed(80, 0.2)
    20
    """
    return 0 if ratio <= 0 else int(round(n_domain * ratio / (1.0 - ratio)))


@dataclass
class BlockMix:
    """The training order: block ids, characters per block and a replay flag, for every pass of the run."""

    ids: torch.Tensor  # [n, block_size] int64
    chars: np.ndarray  # [n] float64
    is_replay: np.ndarray  # [n] bool
    counts: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def consumed(self, blocks: int) -> dict[str, float]:
        """Tokens, characters and replay share of the first `blocks` blocks of the order."""
        blocks = min(blocks, len(self))
        replay = int(self.is_replay[:blocks].sum())
        return {
            "blocks": blocks,
            "tokens": blocks * int(self.ids.shape[1]),
            "chars": float(self.chars[:blocks].sum()),
            "domain_chars": float(self.chars[:blocks][~self.is_replay[:blocks]].sum()),
            "replay_blocks": replay,
            "replay_share": replay / blocks if blocks else 0.0,
        }


def mix_blocks(domain: Packed, replay: Packed | None, ratio: float, seed: int, passes: int = 1) -> BlockMix:
    """Shuffle each stream with the seed, then interleave so that every prefix of the order holds `ratio` replay
    blocks to within one block (a Bresenham schedule), pass after pass with a fresh shuffle each pass.

    Replay blocks are reused cyclically when the replay corpus is shorter than the share needs (counted).
    """
    n_domain = len(domain)
    n_replay = replay_blocks_needed(n_domain, ratio) if replay is not None else 0
    rng = np.random.default_rng(seed)
    schedule = interleave_schedule(n_domain, n_replay)
    rows, flags = [], []
    for _ in range(passes):
        d_order = rng.permutation(n_domain)
        r_order = (rng.permutation(len(replay))[np.arange(n_replay) % len(replay)] if n_replay and replay is not None
                   else np.empty(0, int))
        take = np.empty(n_domain + n_replay, dtype=np.int64)
        take[~schedule] = d_order
        take[schedule] = r_order
        for source, index, flag in ((domain, take[~schedule], False), (replay, take[schedule], True)):
            if index.size:
                assert source is not None  # replay blocks are scheduled only when there is a replay stream
                rows.append((np.flatnonzero(schedule == flag), source.ids[index], source.chars[index]))
        flags.append(schedule.copy())
    ids, block_chars = _assemble(rows, passes, n_domain + n_replay, domain.ids.shape[1])
    counts: dict[str, Any] = {
        "domain_blocks": n_domain,
        "replay_blocks": n_replay,
        "replay_reused_blocks": max(0, n_replay - (len(replay) if replay is not None else 0)),
        "passes": passes,
        "domain_documents": domain.documents,
        "replay_documents": replay.documents if replay is not None else 0,
    }
    return BlockMix(torch.from_numpy(ids.astype(np.int64)), block_chars, np.concatenate(flags), counts)


def interleave_schedule(n_domain: int, n_replay: int) -> np.ndarray:
    """Boolean mask over positions: True where a replay block goes, evenly spread (position i is replay when the
    running quota round((i+1) * share) steps up), so every prefix is within half a block of the share."""
    total = n_domain + n_replay
    if n_replay == 0:
        return np.zeros(total, dtype=bool)
    quota = np.floor(np.arange(1, total + 1) * (n_replay / total) + 0.5).astype(np.int64)
    return np.diff(np.concatenate([[0], quota])) > 0


def _assemble(rows: list, passes: int, per_pass: int, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Place the (positions, ids, chars) pieces of every pass into one [passes * per_pass, block_size] array."""
    ids = np.empty((passes * per_pass, block_size), dtype=np.int32)
    chars = np.empty(passes * per_pass, dtype=np.float64)
    pieces_per_pass = len(rows) // passes
    for p in range(passes):
        for positions, block_ids, block_chars in rows[p * pieces_per_pass:(p + 1) * pieces_per_pass]:
            ids[p * per_pass + positions] = block_ids
            chars[p * per_pass + positions] = block_chars
    return ids, chars


class BlockDataset(torch.utils.data.Dataset):
    """Blocks as causal-LM examples: labels are the inputs (the model shifts them)."""

    def __init__(self, ids: torch.Tensor) -> None:
        self.ids = ids

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        row = self.ids[i]
        return {"input_ids": row, "labels": row}
