"""Initialization of new embedding rows: one function per method, the same for the input and the output side.

Every method sees only the rows of real base tokens (padding rows beyond the tokenizer are never averaged in:
they were never trained as inputs, so they would pull the mean towards the random init) and, per new row, the
ids of the pieces the base tokenizer splits its text into. `logit-match` (output side only) lives in
`vocabx.model.logit_match`, since it needs the base model's forward pass.

Recommendation (bench/results/model_init.md): a tied model keeps `subword-mean`; where the head may be (or
already is) its own matrix, `--init subword-last --init-output subword-first` is the best zero-training pair.
A causal LM reads a term's last piece right before it predicts what follows (so the input row leans on it) and
predicts the first piece when the term is about to start (so the output row leans on that one).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch

from vocabx.adapters.base import TokenizerAdapter
from vocabx.errors import UsageError
from vocabx.extend.base import NewEntry
from vocabx.model.methods import INPUT_METHODS, OUTPUT_METHODS

log = logging.getLogger(__name__)

NOISE_SCALE = 1e-5  # Hewitt's choice: small enough to stay near the mean, large enough to break symmetry
COV_SAMPLE_ROWS = 8192  # covariance from a row sample: exact enough, and O(sample * d^2) instead of O(vocab * d^2)
# subword-first/-last weigh the pieces by DECAY ** (distance from the anchor piece), normalized to sum 1: 2 pieces
# get 2/3 and 1/3, 3 pieces 4/7, 2/7, 1/7. Chosen on training rows of the medical corpus, never the held-out
# slice (`python bench/bench_model_init.py --tune`): 0.5 beat 0.35 and 0.7 on both sides.
DECAY = 0.5
SUBWORD_ANCHORS = {"subword-mean": None, "subword-mean-norm": None, "subword-first": 0, "subword-last": -1}


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
    decay: float = DECAY,
) -> tuple[torch.Tensor, dict[str, int]]:
    """New rows (float32, one per entry of `pieces`) for `method`, and counts of how each row was made.

    `old` holds the real base rows only. The subword methods fall back to the mean for an entry with no pieces;
    `decay` is subword-first/-last's (see `piece_weights`).

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
    if method in SUBWORD_ANCHORS:
        return _subword_weighted(old, pieces, mean, method, decay)
    raise UsageError(f"unknown init method {method!r}", hint=f"valid: {', '.join(OUTPUT_METHODS)}")


def piece_weights(k: int, anchor: int | None, decay: float = DECAY) -> list[float]:
    """Weights of an entry's k piece rows: equal, or decaying by DECAY away from the `anchor` piece (0 first,
    -1 last).

    >>> piece_weights(3, -1)
    [0.14285714285714285, 0.2857142857142857, 0.5714285714285714]
    >>> piece_weights(2, None)
    [0.5, 0.5]
    """
    if k == 0:
        return []
    if anchor is None:
        return [1.0 / k] * k
    raw = [decay**j for j in range(k)]  # j: distance from the first piece
    if anchor == -1:
        raw.reverse()
    total = sum(raw)
    return [r / total for r in raw]


def _subword_weighted(
    old: torch.Tensor, pieces: Sequence[Sequence[int]], mean: torch.Tensor, method: str, decay: float
) -> tuple[torch.Tensor, dict[str, int]]:
    """FVT (Gee et al. 2022) and its weighted variants: a weighted sum of the pieces' rows in one `embedding_bag`."""
    n_old, anchor = old.shape[0], SUBWORD_ANCHORS[method]
    if not pieces:  # embedding_bag would still return one (empty) bag
        return torch.zeros(0, old.shape[1]), {method.replace("-", "_"): 0, "subword_single_piece": 0, "fallback_mean": 0}
    usable = [[p for p in ps if 0 <= p < n_old] for ps in pieces]
    flat = torch.tensor([p for ps in usable for p in ps], dtype=torch.long)
    weights = torch.tensor([w for ps in usable for w in piece_weights(len(ps), anchor, decay)], dtype=torch.float32)
    lengths = torch.tensor([len(ps) for ps in usable], dtype=torch.long)
    offsets = torch.cumsum(torch.cat([torch.zeros(1, dtype=torch.long), lengths[:-1]]), 0)
    # Only the rows in use are cast to float32 (bf16/f16 rows are averaged in float32; the caller casts back).
    used, local = torch.unique(flat, return_inverse=True)
    table = old[used].float()
    rows = torch.nn.functional.embedding_bag(local, table, offsets, mode="sum", per_sample_weights=weights)
    if method == "subword-mean-norm":
        # the mean of k rows is shorter than they are; stretch it back to their mean length
        norms = torch.nn.functional.embedding_bag(local, table.norm(dim=1, keepdim=True), offsets, mode="mean")
        rows = rows * (norms / rows.norm(dim=1, keepdim=True).clamp_min(1e-12))
    empty = lengths == 0
    rows[empty] = mean  # an entry whose text the base tokenizer cannot split (empty text): use the mean
    key = method.replace("-", "_")
    counts = {key: int((lengths > 1).sum()), "subword_single_piece": int((lengths == 1).sum()),
              "fallback_mean": int(empty.sum())}
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
