"""Bits per character of a causal LM on texts: total negative log-likelihood in bits divided by characters.

Unlike perplexity, BPC does not depend on the tokenizer, so a base and an extended model are compared on the same
footing. Each text is scored after one start token (so its first token is predicted too); texts longer than the
window are scored with a sliding window, each token once, with up to `max_length - stride` tokens of context
carried over.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch

log = logging.getLogger(__name__)

Encode = Callable[[str], list[int]]
OnScored = Callable[[torch.Tensor, torch.Tensor], None]  # (target ids, their NLL in nats) of one batch's scored tokens


@dataclass
class BPCResult:
    """Totals over all texts; the ratios are properties."""

    bits: float
    chars: int
    tokens: int
    docs: int

    @property
    def bpc(self) -> float:
        return self.bits / self.chars if self.chars else math.nan

    @property
    def chars_per_token(self) -> float:
        return self.chars / self.tokens if self.tokens else math.nan

    def as_dict(self) -> dict[str, float | int]:
        return {"bpc": self.bpc, "bits": self.bits, "chars": self.chars, "tokens": self.tokens, "docs": self.docs,
                "chars_per_token": self.chars_per_token}


def windows(ids: Sequence[int], max_length: int, stride: int) -> list[tuple[list[int], int]]:
    """Split `ids` (start token first) into (window, n_scored) pairs: the last n_scored targets are new.

    >>> windows([0, 1, 2, 3, 4], max_length=3, stride=2)
    [([0, 1, 2], 2), ([2, 3, 4], 2)]
    """
    out: list[tuple[list[int], int]] = []
    scored = 1  # position 0 is the start token: never a target
    start = 0
    while scored < len(ids):
        end = min(start + max_length, len(ids))
        out.append((list(ids[start:end]), end - scored))
        scored, start = end, start + stride
    return out


def bits_per_character(
    model: torch.nn.Module,
    encode: Encode,
    texts: Iterable[str],
    *,
    start_id: int,
    max_length: int = 1024,
    stride: int = 512,
    batch_size: int = 8,
    progress: bool = False,
    on_scored: OnScored | None = None,
    desc: str = "bits per character",
) -> BPCResult:
    """Score `texts` with `model` (a transformers causal LM) under the tokenizer `encode` (no special tokens).

    `on_scored`, when given, sees each batch's scored target ids with their NLL (per-token statistics for free);
    `desc` names the progress bar.
    """
    if not 0 < stride <= max_length - 1:
        raise ValueError(f"stride must be in [1, max_length - 1], got {stride} for max_length {max_length}")
    items: list[tuple[list[int], int]] = []
    chars = tokens = docs = 0
    for text in texts:
        ids = encode(text)
        chars, tokens, docs = chars + len(text), tokens + len(ids), docs + 1
        if ids:
            items.extend(windows([start_id, *ids], max_length, stride))
    items.sort(key=lambda w: len(w[0]))  # similar lengths per batch: little padding
    nats = 0.0
    batches = range(0, len(items), batch_size)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc=desc, unit="batch")
    for b in batches:
        nats += _batch_nll(model, items[b : b + batch_size], on_scored)
    return BPCResult(bits=nats / math.log(2), chars=chars, tokens=tokens, docs=docs)


@torch.inference_mode()
def _batch_nll(model: torch.nn.Module, batch: list[tuple[list[int], int]], on_scored: OnScored | None = None) -> float:
    """Summed NLL (nats) of the last n_scored targets of each window, right-padded into one forward pass."""
    width = max(len(w) for w, _ in batch)
    ids = torch.zeros(len(batch), width, dtype=torch.long)
    mask = torch.zeros(len(batch), width, dtype=torch.long)
    score = torch.zeros(len(batch), width - 1, dtype=torch.bool)
    for r, (w, n) in enumerate(batch):
        ids[r, : len(w)] = torch.tensor(w)
        mask[r, : len(w)] = 1
        score[r, len(w) - 1 - n : len(w) - 1] = True  # logits at position p predict token p + 1
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
    if on_scored is not None:
        on_scored(ids[:, 1:][score], nll[score])
    return float(nll[score].double().sum())
