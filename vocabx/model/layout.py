"""Which rows of the grown embedding matrix come from where: old rows, new token rows, reused padding, new padding.

Padding rows (a matrix larger than the tokenizer, e.g. Qwen's 151,936 rows for 151,665 tokens) were never a
token: as inputs they were never seen, as outputs training only pushed them down. New ids follow the tokenizer,
so a new id that falls on a padding row takes that row and re-initializes it like any other new row; padding rows
beyond the new vocabulary stay bit-identical, and the matrix never shrinks. Every real old row is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vocabx.errors import ModelError, UsageError
from vocabx.extend.base import Extension, NewEntry
from vocabx.model.checkpoint import Checkpoint


@dataclass(frozen=True)
class Layout:
    """Row bookkeeping for one extension of one checkpoint."""

    n_base: int  # tokens in the base tokenizer: rows [0, n_base) are real and kept bit-identical
    rows_old: int  # rows of the base matrix (>= n_base)
    n_new_vocab: int  # tokens in the extended tokenizer: rows [n_base, n_new_vocab) get initialized
    rows_new: int  # rows of the grown matrix
    entries: tuple[NewEntry, ...]  # one per new id, in id order (ids the extension did not list are decoded)

    @property
    def padding_reused(self) -> int:
        return max(0, min(self.n_new_vocab, self.rows_old) - self.n_base)

    @property
    def padding_added(self) -> int:
        return self.rows_new - max(self.rows_old, self.n_new_vocab)

    @property
    def padding_kept(self) -> int:
        return max(0, self.rows_old - self.n_new_vocab)


def plan_layout(ckpt: Checkpoint, extension: Extension, pad_to_multiple_of: int | None) -> Layout:
    """Check the tokenizers against the matrix and lay out the grown rows."""
    if pad_to_multiple_of is not None and (not isinstance(pad_to_multiple_of, int) or pad_to_multiple_of < 1):
        raise UsageError(f"pad_to_multiple_of must be a positive integer, got {pad_to_multiple_of!r}", hint="e.g. 64")
    n_base, n_new = extension.base.vocab_size, extension.extended.vocab_size
    if n_base > ckpt.rows:
        raise ModelError(
            f"the base tokenizer has {n_base} tokens but {ckpt.input_name} in {ckpt.path} has only {ckpt.rows} rows",
            hint="the tokenizer does not belong to this model; extend the model's own tokenizer",
        )
    if n_new < n_base:
        raise ModelError(f"the extended tokenizer ({n_new}) is smaller than the base ({n_base})", hint="report this bug")
    by_id = {e.id: e for e in extension.added}
    bad = sorted(i for i in by_id if not n_base <= i < n_new)
    if bad:
        raise ModelError(f"new entry id {bad[0]} lies outside [{n_base}, {n_new})", hint="old ids must never move")
    entries = tuple(
        by_id.get(i) or NewEntry(token=extension.extended.id_to_token(i) or "", text=extension.extended.decode([i]),
                                 id=i, kind="intermediate")
        for i in range(n_base, n_new)
    )
    rows_new = max(ckpt.rows, n_new)
    if pad_to_multiple_of:
        rows_new = -(-rows_new // pad_to_multiple_of) * pad_to_multiple_of
    return Layout(n_base, ckpt.rows, n_new, rows_new, entries)


def grow_matrix(old: torch.Tensor, layout: Layout, new_rows: torch.Tensor, pad_row: torch.Tensor) -> torch.Tensor:
    """The grown matrix in `old`'s dtype: old rows copied, new rows and added padding rows filled in."""
    grown = torch.empty(layout.rows_new, old.shape[1], dtype=old.dtype)
    grown[: layout.rows_old] = old
    grown[layout.n_base : layout.n_new_vocab] = new_rows.to(old.dtype)
    first_pad = max(layout.rows_old, layout.n_new_vocab)
    grown[first_pad:] = pad_row.to(old.dtype)
    return grown
