"""Initialization of new embedding rows: one function per method, the same for the input and the output side.

Every method sees only the rows of real base tokens (padding rows beyond the tokenizer are never averaged in:
they were never trained as inputs, so they would pull the mean towards the random init) and, per new row, the
ids of the pieces the base tokenizer splits its text into. `logit-match` (output side only) lives in
`vocabx.model.logit_match`, since it needs the base model's forward pass.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import torch

from vocabx.adapters.base import TokenizerAdapter
from vocabx.errors import UsageError
from vocabx.extend.base import NewEntry

log = logging.getLogger(__name__)

InitMethod = Literal["mean", "mean-noise", "subword-mean", "random", "zero", "logit-match"]

INIT_HELP: dict[str, str] = {
    "mean": "the mean of the old rows (Hewitt 2021: bounds the KL between the old and the new model's distribution)",
    "mean-noise": "the mean plus a small sample from the old rows' covariance (x 1e-5), so new rows differ",
    "subword-mean": "FVT: the mean of the rows of the pieces the base tokenizer splits the entry's text into",
    "random": "N(0, initializer_range): what a plain resize does; an ablation",
    "zero": "all zeros; an ablation",
    "logit-match": "output side only: first piece's output row plus a shift so that the new token's logit is about "
    "log P(its piece sequence) under the base model",
}
INPUT_METHODS: tuple[str, ...] = ("mean", "mean-noise", "subword-mean", "random", "zero")
OUTPUT_METHODS: tuple[str, ...] = (*INPUT_METHODS, "logit-match")

NOISE_SCALE = 1e-5  # Hewitt's choice: small enough to stay near the mean, large enough to break symmetry
COV_SAMPLE_ROWS = 8192  # covariance from a row sample: exact enough, and O(sample * d^2) instead of O(vocab * d^2)


def check_methods(init: str, init_output: str | None) -> tuple[str, str]:
    """Validate the (input, output) methods; raise UsageError listing the valid ones."""
    if init not in INPUT_METHODS:
        raise UsageError(
            f"unknown input-side init method {init!r}",
            hint=f"valid: {', '.join(INPUT_METHODS)}" + (" (logit-match is output-side only: use --init-output)"
                                                         if init == "logit-match" else ""),
        )
    out = init if init_output is None else init_output
    if out not in OUTPUT_METHODS:
        raise UsageError(f"unknown output-side init method {out!r}", hint=f"valid: {', '.join(OUTPUT_METHODS)}")
    return init, out


def row_mean(matrix: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """The float32 mean of the rows, accumulated in float64 a chunk of rows at a time (no float64 copy of a
    7B model's 32k x 4096 matrix, which alone would be 1 GB)."""
    total = torch.zeros(matrix.shape[1], dtype=torch.float64)
    for start in range(0, matrix.shape[0], chunk):
        total += matrix[start : start + chunk].sum(dim=0, dtype=torch.float64)
    return (total / max(1, matrix.shape[0])).float()


def base_pieces(entry: NewEntry, base: TokenizerAdapter) -> list[int]:
    """The base ids that stand for a new entry: the base tokenization of its text.

    An intermediate byte-level token can end inside a UTF-8 character, so its text (decoded with U+FFFD) is not
    the bytes it stands for; then its token string is split by the base BPE model itself.
    """
    tokenize = getattr(getattr(getattr(base, "tokenizer", None), "model", None), "tokenize", None)
    if "\ufffd" in entry.text and tokenize is not None and entry.token:
        ids = [base.token_to_id(t.value) for t in tokenize(entry.token)]
        if all(i is not None for i in ids):
            return ids  # type: ignore[return-value]
    return base.encode(entry.text)


def init_rows(
    method: str,
    old: torch.Tensor,
    pieces: Sequence[Sequence[int]],
    *,
    seed: int = 0,
    initializer_range: float = 0.02,
) -> tuple[torch.Tensor, dict[str, int]]:
    """New rows (float32, one per entry of `pieces`) for `method`, and counts of how each row was made.

    `old` holds the real base rows only. `subword-mean` falls back to the mean for an entry with no pieces.

    >>> old = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> init_rows("subword-mean", old, [[0, 1]])[0]
    tensor([[2., 3.]])
    >>> init_rows("mean", old, [[0]])[0]
    tensor([[2., 3.]])
    """
    n, d = len(pieces), old.shape[1]
    gen = torch.Generator().manual_seed(seed)
    if method == "zero":
        return torch.zeros(n, d), {"zero": n}
    if method == "random":
        return torch.randn(n, d, generator=gen) * initializer_range, {"random": n}
    mean = row_mean(old)
    if method == "mean":
        return mean.expand(n, d).clone(), {"mean": n}
    if method == "mean-noise":
        return mean + _covariance_noise(old, n, gen), {"mean_noise": n}
    if method == "subword-mean":
        return _subword_mean(old, pieces, mean)
    raise UsageError(f"unknown init method {method!r}", hint=f"valid: {', '.join(OUTPUT_METHODS)}")


def _subword_mean(old: torch.Tensor, pieces: Sequence[Sequence[int]], mean: torch.Tensor) -> tuple[torch.Tensor, dict[str, int]]:
    """FVT (Gee et al. 2022): average the rows of the base pieces, all in one `embedding_bag` call."""
    n_old = old.shape[0]
    usable = [[p for p in ps if 0 <= p < n_old] for ps in pieces]
    flat = torch.tensor([p for ps in usable for p in ps], dtype=torch.long)
    lengths = torch.tensor([len(ps) for ps in usable], dtype=torch.long)
    offsets = torch.cumsum(torch.cat([torch.zeros(1, dtype=torch.long), lengths[:-1]]), 0)
    # Only the rows in use are cast to float32 (bf16/f16 rows are averaged in float32; the caller casts back).
    used, local = torch.unique(flat, return_inverse=True)
    rows = torch.nn.functional.embedding_bag(local, old[used].float(), offsets, mode="mean")
    empty = lengths == 0
    rows[empty] = mean  # an entry whose text the base tokenizer cannot split (empty text): use the mean
    single = int((lengths == 1).sum())
    counts = {"subword_mean": int((lengths > 1).sum()), "subword_single_piece": single, "fallback_mean": int(empty.sum())}
    return rows, counts


def _covariance_noise(old: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
    """`n` samples of N(0, NOISE_SCALE * Cov(old rows)), the covariance estimated on a row sample."""
    rows = old.shape[0]
    idx = torch.randperm(rows, generator=gen)[:COV_SAMPLE_ROWS]
    sample = old[idx].double()
    centered = sample - sample.mean(dim=0)
    cov = centered.T @ centered / max(1, sample.shape[0] - 1)
    # Jitter: the embedding matrix of a real model is often rank-deficient in a few directions.
    jitter = 1e-6 * float(cov.diagonal().mean())
    chol = torch.linalg.cholesky(cov + jitter * torch.eye(cov.shape[0], dtype=cov.dtype))
    z = torch.randn(n, cov.shape[0], generator=gen, dtype=torch.float64)
    return (z @ chol.T * NOISE_SCALE**0.5).float()
