"""The teacher's pass: the base model reads the base tokenization of each training window once, and what the
student must match is kept per student position (sparse distribution, chunk log-probabilities, hidden states).

Distilling from stored targets costs one teacher forward per window however many epochs the student trains, and
keeps the teacher out of memory while the student trains.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import torch

from vocabx.train.align import Alignment, VocabMap, align

if TYPE_CHECKING:
    from transformers import PreTrainedModel

log = logging.getLogger(__name__)

FIELDS = ("input_ids", "labels", "open", "close", "chunk_from", "top_ids", "top_logp", "rest_logp", "pair_ids",
          "pair_logp", "alone_logp", "has2", "chunk_logp")


@dataclass
class Window:
    """One training window: the same text in both tokenizations, start token first on both sides."""

    base: np.ndarray  # [n + 1]
    ext: np.ndarray  # [m + 1]
    alignment: Alignment  # over ext[1:] and base[1:]


def pack_windows(docs: Iterable[tuple[list[int], list[int]]], vmap: VocabMap, block: int, start_id: int,
                 sep_id: int | None) -> Iterator[Window]:
    """Concatenate documents (base ids, extended ids), each followed by `sep_id`, and cut the stream into windows
    of at most `block` extended tokens, at chunk boundaries; each window starts with `start_id` on both sides."""
    base_buf: list[int] = []
    ext_buf: list[int] = []
    for base, ext in docs:
        tail = [sep_id] if sep_id is not None else []
        base_buf += base + tail
        ext_buf += ext + tail
        while len(ext_buf) >= block:
            yield from _cut(base_buf, ext_buf, vmap, block, start_id)
            # _cut consumed a prefix of both buffers in place
    while ext_buf:
        yield from _cut(base_buf, ext_buf, vmap, block, start_id)


def _cut(base_buf: list[int], ext_buf: list[int], vmap: VocabMap, block: int, start_id: int) -> Iterator[Window]:
    ext = np.asarray(ext_buf[:block], dtype=np.int64)
    lens = vmap.byte_lengths
    ext_bytes = int(lens[ext].sum())
    base_cum = np.cumsum(lens[np.asarray(base_buf, dtype=np.int64)])
    n_base = int(np.searchsorted(base_cum, ext_bytes, side="right"))
    # Back off to the last extended token that closes a chunk inside the window.
    while n_base == 0 or base_cum[n_base - 1] != ext_bytes:
        ext = ext[:-1]
        ext_bytes = int(lens[ext].sum())
        n_base = int(np.searchsorted(base_cum, ext_bytes, side="right"))
        if ext.size == 0:
            raise ValueError("no shared boundary within a window; raise --block-size")
    base = np.asarray(base_buf[:n_base], dtype=np.int64)
    del base_buf[:n_base]
    del ext_buf[:ext.size]
    start = np.array([start_id], dtype=np.int64)
    yield Window(np.concatenate([start, base]), np.concatenate([start, ext]), align(base, ext, lens))


class Teacher:
    """The base model in inference mode. With `bf16`, its body runs in bfloat16 (faster on CPUs with native bf16
    dot products, and on GPUs) while the head stays float32: bf16 logits
    of 10-30 are off by up to 0.125, too coarse for log-probability targets."""

    def __init__(self, model: PreTrainedModel, bf16: bool) -> None:
        model.eval().requires_grad_(False)
        self.head = model.get_output_embeddings().weight.detach().float().clone()
        # transformers wraps `to` in functools.wraps, whose typeshed type does not bind self (python/typeshed#10653).
        self.model: PreTrainedModel = model.to(torch.bfloat16) if bf16 else model  # type: ignore[arg-type]
        self.device = self.head.device

    @torch.inference_mode()
    def __call__(self, ids: torch.Tensor, mask: torch.Tensor, layers: Sequence[int]):
        body = cast(torch.nn.Module, self.model.model)  # the decoder stack, an attribute of each architecture's class
        out = body(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                   output_hidden_states=bool(layers))
        logits = out.last_hidden_state.float() @ self.head.T
        hidden = [out.hidden_states[i].float() for i in layers] if layers else []
        return logits, hidden


def teacher_targets(teacher: Teacher, windows: Sequence[Window], vmap: VocabMap, top_k: int,
                    layers: Sequence[int]) -> list[dict[str, torch.Tensor]]:
    """Run the teacher on a batch of windows and return each window's targets (see `distill_loss.Targets`)."""
    width = max(w.base.size for w in windows)
    ids = torch.zeros(len(windows), width, dtype=torch.long)
    mask = torch.zeros(len(windows), width, dtype=torch.long)
    for r, w in enumerate(windows):
        ids[r, : w.base.size] = torch.from_numpy(w.base)
        mask[r, : w.base.size] = 1
    logits, hidden = teacher(ids, mask, layers)
    logits = logits.cpu()  # [b, n, V]
    hidden = [h.cpu() for h in hidden]
    return [_window_targets(w, logits[r, : w.base.size], [h[r] for h in hidden], vmap, top_k)
            for r, w in enumerate(windows)]


def _window_targets(w: Window, logits: torch.Tensor, hidden: list[torch.Tensor], vmap: VocabMap,
                    top_k: int) -> dict[str, torch.Tensor]:
    """Targets for one window; position t (0..m-1) of the student predicts ext[t + 1]: at each chunk opening the
    teacher's top K next base tokens (and the rest as one lump), the split of the observed first base token's mass
    by the second base token (`_second_level`), and each chunk's log-probability.

    Both are canonical probabilities: where the chunk just closed could have gone on into a longer new token, the
    extended tokenizer would have taken that token, so those next base tokens cannot follow. The chunk that closes
    there gives up their mass (`log(1 - m)`) and the next opening's distribution is renormalized without them
    (`-log(1 - m)`), so the chunk targets of a window still sum to the teacher's log-probability of its text."""
    from vocabx.train.distill_loss import log1mexp

    a = w.alignment
    base = torch.from_numpy(w.base)
    n = base.size(0) - 1
    lse = torch.logsumexp(logits, dim=1)  # [n + 1]
    token_lp = logits[torch.arange(n), base[1:]] - lse[:n]  # teacher log p of each base token, [n]
    opening = torch.from_numpy(a.base_start)  # teacher position predicting the chunk's first base token
    excluded = _excluded(w, vmap)
    open_logits = logits[opening]
    for row in np.flatnonzero(np.isin(a.base_start, list(excluded))):
        open_logits[row, excluded[int(a.base_start[row])]] = -torch.inf
    open_lse = torch.logsumexp(open_logits, dim=1)
    top_logp, top_ids = open_logits.topk(top_k, dim=1)
    top_logp = top_logp - open_lse[:, None]
    rest = log1mexp(torch.logsumexp(top_logp, dim=1))
    csum = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(token_lp.double(), 0)])
    chunk = (csum[torch.from_numpy(a.base_end)] - csum[opening]).float() + (lse[opening] - open_lse)
    stop = torch.zeros(a.first.size)
    for j in np.flatnonzero(a.last):
        end = int(a.base_end[j])
        if end in excluded:
            stop[j] = log1mexp(torch.logsumexp(logits[end, excluded[end]] - lse[end], dim=0))
    out = {
        "input_ids": torch.from_numpy(w.ext[:-1].copy()),
        "labels": torch.from_numpy(w.ext[1:].copy()),
        "open": torch.from_numpy(a.first.copy()),
        "close": torch.from_numpy(a.last.copy()),
        "chunk_from": torch.from_numpy(a.chunk_first.copy()),
        "top_ids": top_ids.to(torch.int32),
        "top_logp": top_logp,
        "rest_logp": rest,
        **_second_level(w, logits, lse, vmap, top_k),
        "chunk_logp": chunk + stop,
    }
    if hidden:
        # At an opening, both models have read the same bytes: the student up to token t - 1, the teacher up to
        # the base token before the chunk.
        out["hidden"] = torch.stack([h[opening] for h in hidden]).to(torch.float16)  # [layers, m, d]
    return out


def _excluded(w: Window, vmap: VocabMap) -> dict[int, list[int]]:
    """Teacher position -> the base tokens that cannot come next there: each one would extend the chunk that
    closes at that position into a longer new token, which the extended tokenizer would have taken instead.
    Positions where the text itself goes on with one of them (BPE's merge order kept the shorter token) are left
    out: there the extension was possible after all."""
    a = w.alignment
    n = w.base.size - 1
    out: dict[int, list[int]] = {}
    for j in np.flatnonzero(a.last):
        end = int(a.base_end[j])
        if end >= n:
            continue  # the next token is outside the window: no teacher distribution there
        nxt = vmap.extensions.get(tuple(int(x) for x in w.base[1 + a.base_start[j] : 1 + end]))
        if nxt and int(w.base[end + 1]) not in nxt:
            out[end] = nxt
    return out


def _second_level(w: Window, logits: torch.Tensor, lse: torch.Tensor, vmap: VocabMap,
                  top_k: int) -> dict[str, torch.Tensor]:
    """Where a chunk opens with a base token b1 that starts new tokens, the teacher's distribution one base token
    later splits b1's mass by the second base token b2: the new tokens that begin (b1, b2) share p(b2 | b1), b1
    alone keeps the mass of every b2 that continues no new token. This is what breaks up a byte fragment that
    carries the mass of every character it starts. Kept as the top K pairs (`pair_ids`, indices of
    `VocabMap.pair_of_new`), their conditional log-probabilities, and `alone_logp`; `has2` marks the openings where
    it applies (b1 starts a new token and the next distribution lies inside the window)."""
    from vocabx.train.distill_loss import log1mexp

    a, m = w.alignment, w.alignment.first.size
    pair_ids = torch.full((m, top_k), -1, dtype=torch.int32)
    pair_logp = torch.full((m, top_k), -torch.inf)
    alone = torch.zeros(m)
    has2 = torch.zeros(m, dtype=torch.bool)
    for j in np.flatnonzero(a.first):
        u = int(a.base_start[j]) + 1  # the teacher's position after reading b1 (u <= n: the chunk holds b1)
        b1 = int(w.base[u])
        if b1 not in vmap.seconds:
            continue
        second, pairs = vmap.seconds[b1]
        cond = logits[u, torch.from_numpy(second)] - lse[u]
        k = min(top_k, cond.numel())
        best, where = cond.topk(k)
        pair_ids[j, :k] = torch.from_numpy(pairs)[where].to(torch.int32)
        pair_logp[j, :k] = best
        alone[j] = log1mexp(torch.logsumexp(cond, dim=0))
        has2[j] = True
    return {"pair_ids": pair_ids, "pair_logp": pair_logp, "alone_logp": alone, "has2": has2}
