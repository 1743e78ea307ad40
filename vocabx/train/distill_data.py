"""Distillation data: documents read in both tokenizations and packed into windows, the teacher's targets computed
once per window and cached under OUT/teacher/ (a resumed run reuses them), and the dataset and collator the
student trains on."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vocabx.corpus import CorpusConfig, open_corpus
from vocabx.outputs import write_atomic
from vocabx.train.align import VocabMap
from vocabx.train.data import interleave_schedule
from vocabx.train.teacher import Teacher, Window, pack_windows, teacher_targets

log = logging.getLogger(__name__)

TOKENIZE_BATCH = 256
# The teacher targets' format, in the cache file names and the manifest: 3 renormalizes after canonical stops
# (2 had the second level without it); a cache of another format is never read.
TARGETS_FORMAT = 3
SHARD_WINDOWS = 64  # windows per cached target file: a killed teacher pass redoes at most this many
PAD = {"input_ids": 0, "labels": -100, "open": False, "close": False, "chunk_from": 0, "top_ids": -1,
       "top_logp": -float("inf"), "rest_logp": -float("inf"), "pair_ids": -1, "pair_logp": -float("inf"),
       "alone_logp": 0.0, "has2": False, "chunk_logp": 0.0}


@dataclass
class WindowSet:
    """Windows cut from one corpus, with what was read to make them."""

    windows: list[Window]
    docs: int
    chars: int

    @property
    def tokens(self) -> int:
        return sum(w.ext.size - 1 for w in self.windows)

    @property
    def base_tokens(self) -> int:
        return sum(w.base.size - 1 for w in self.windows)


def read_windows(specs: Sequence[str], text_field: str | None, max_chars: int | None, base_tok: Any, ext_tok: Any,
                 vmap: VocabMap, block: int, max_windows: int | None = None) -> WindowSet:
    """Read documents (up to `max_chars` characters), tokenize them both ways and pack them into windows."""
    counted = {"docs": 0, "chars": 0}
    sep = ext_tok.eos_token_id
    start = ext_tok.bos_token_id if ext_tok.bos_token_id is not None else sep

    def docs() -> Iterable[tuple[list[int], list[int]]]:
        batch: list[str] = []
        for text in open_corpus(specs, CorpusConfig(text_field=text_field, max_chars=max_chars)).texts():
            batch.append(text)
            if len(batch) == TOKENIZE_BATCH:
                yield from _encode_both(batch, base_tok, ext_tok, counted)
                batch = []
        if batch:
            yield from _encode_both(batch, base_tok, ext_tok, counted)

    windows: list[Window] = []
    for window in pack_windows(docs(), vmap, block, start, sep):
        windows.append(window)
        if max_windows is not None and len(windows) >= max_windows:
            break
    return WindowSet(windows, counted["docs"], counted["chars"])


def _encode_both(batch: list[str], base_tok: Any, ext_tok: Any, counted: dict[str, int]):
    base = base_tok(batch, add_special_tokens=False)["input_ids"]
    ext = ext_tok(batch, add_special_tokens=False)["input_ids"]
    for text, b, e in zip(batch, base, ext):
        if e:
            counted["docs"] += 1
            counted["chars"] += len(text)
            yield b, e


def mix_windows(domain: list[Window], replay: list[Window], ratio: float, seed: int) -> tuple[list[Window], np.ndarray]:
    """Shuffle each set with the seed and interleave them so that every prefix holds `ratio` replay windows (to
    within one); returns the order and its replay flags."""
    n_replay = 0 if ratio <= 0 or not replay else int(round(len(domain) * ratio / (1 - ratio)))
    rng = np.random.default_rng(seed)
    d_order = rng.permutation(len(domain))
    r_order = rng.permutation(len(replay))[np.arange(n_replay) % len(replay)] if n_replay else np.empty(0, int)
    schedule = interleave_schedule(len(domain), n_replay)
    order: list[Window] = []
    d_iter, r_iter = iter(d_order), iter(r_order)
    for is_replay in schedule:
        order.append(replay[next(r_iter)] if is_replay else domain[next(d_iter)])
    return order, schedule


class LazyTargets(torch.utils.data.Dataset):
    """The teacher's targets for each window of the training order, computed when training first reaches them,
    `shard_windows` at a time (`SHARD_WINDOWS`; fewer when the whole run needs fewer, one step's under a minutes
    budget, so that it stops on time), and cached as
    cache/targetsF-SIZE-NNNNN.safetensors (F: `TARGETS_FORMAT`) (written atomically): training starts at once, a budget that stops early
    pays only for the windows it used, and a resumed or repeated pass reads the cache instead of running the
    teacher again. Item i is window i % len(order) (passes repeat it)."""

    def __init__(self, order: Sequence[Window], length: int, cache: Path,
                 compute: Callable[[Sequence[Window]], list[dict]], batch: int, shard_windows: int = SHARD_WINDOWS) -> None:
        self.order, self.length, self.cache, self.compute, self.batch = order, length, cache, compute, batch
        self.shard_windows = max(1, min(shard_windows, length, len(order)))  # a short run pays for what it reads
        self.loaded: dict[int, list[dict[str, torch.Tensor]]] = {}
        self.teacher_windows = 0  # windows the teacher ran on in this process (the rest came from the cache)
        self.teacher_seconds = 0.0

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        index = i % len(self.order)
        shard = index // self.shard_windows
        if shard not in self.loaded:
            self.loaded = {k: v for k, v in self.loaded.items() if k >= shard - 1}  # keep the previous one
            self.loaded[shard] = self.shard(shard)
        return self.loaded[shard][index % self.shard_windows]

    def shard(self, k: int) -> list[dict[str, torch.Tensor]]:
        from safetensors.torch import load_file, save

        path = self.cache / f"targets{TARGETS_FORMAT}-{self.shard_windows}-{k:05d}.safetensors"
        part = self.order[k * self.shard_windows : (k + 1) * self.shard_windows]
        if path.is_file():
            return _unflatten(load_file(path), len(part))
        started = time.perf_counter()
        items = [t for j in range(0, len(part), self.batch) for t in self.compute(part[j : j + self.batch])]
        self.teacher_windows += len(part)
        self.teacher_seconds += time.perf_counter() - started
        flat = {f"{n}.{key}": v.contiguous() for n, item in enumerate(items) for key, v in item.items()}
        self.cache.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda fh: fh.write(save(flat)))
        return items


def _unflatten(flat: dict[str, torch.Tensor], n: int) -> list[dict[str, torch.Tensor]]:
    items: list[dict[str, torch.Tensor]] = [{} for _ in range(n)]
    for key, value in flat.items():
        index, name = key.split(".", 1)
        items[int(index)][name] = value
    return items


def teacher_function(teacher: Teacher, vmap: VocabMap, top_k: int,
                     layers: Sequence[int]) -> Callable[[Sequence[Window]], list[dict]]:
    """`teacher_targets` bound to one teacher and its settings."""
    return lambda part: teacher_targets(teacher, part, vmap, top_k, layers)


def collate_targets(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Right-pad a batch of windows; `attention_mask` covers the start token and every real position."""
    width = max(int(x["input_ids"].size(0)) for x in items)
    batch: dict[str, torch.Tensor] = {}
    for key, fill in PAD.items():
        rows = []
        for x in items:
            v = x[key]
            pad = torch.full((width - v.size(0), *v.shape[1:]), fill, dtype=v.dtype)
            rows.append(torch.cat([v, pad]))
        batch[key] = torch.stack(rows)
    batch["top_ids"] = batch["top_ids"].long()
    batch["pair_ids"] = batch["pair_ids"].long()
    if "hidden" in items[0]:
        layers, _, dim = items[0]["hidden"].shape
        batch["hidden"] = torch.stack([
            torch.cat([x["hidden"], x["hidden"].new_zeros(layers, width - x["hidden"].size(1), dim)], dim=1)
            for x in items])  # [b, layers, s, d]
    lengths = torch.tensor([int(x["input_ids"].size(0)) for x in items])
    batch["attention_mask"] = (torch.arange(width)[None, :] < lengths[:, None]).long()
    return batch
