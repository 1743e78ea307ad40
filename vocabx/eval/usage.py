"""New-token usage: how often the model emits the new tokens, what it pays for them where the text has them, and
which new rows still look under-trained.

Under-trained criterion (a new row is flagged when any of these holds):
- `unchanged`: its relative distance from its initialization, ||w - w0|| / ||w0|| (input row; output row too when
  untied, the larger counts), is below max(1e-3, 0.1 x the median over the new rows). Needs the rows as `vocabx
  extend` initialized them (`init_reference`); an extend output itself is at its initialization, so every row is.
  Caveat, measured on SmolLM2 (tied head) after 12 embeddings-stage steps: every new row moved 2-8%, the rows
  absent from the training text as much as the others (Adam turns the softmax's small, consistent push-down into
  full-size steps), so drift catches untouched rows (an extend output, untied input rows no text reached) but
  not weakly trained ones; `costly` is the behavioural check for those.
- `norm_outlier`: the norm of its input row is a robust outlier among the old rows' norms, |z| > 3 with
  z = (norm - median) / (1.4826 x MAD). Mean-initialized rows start short (an average of many rows) and grow
  towards the old rows' norms as they train; rows no gradient reached stay outliers (Land & Bartolo 2024).
- `costly`: where the extended tokenizer emits it in the held-out domain text (at least twice), the model spends
  more than twice the domain's bits per character on its characters.
The worst K are listed, those with the most flags first, then the least moved, then the most costly.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import torch

CRITERION = (
    "flagged when any holds: unchanged (relative distance from the extend-time init below max(1e-3, 0.1 x the new "
    "rows' median)); norm_outlier (input-row norm robust |z| > 3 among the old rows); costly (at >= 2 occurrences "
    "in the domain text, more than 2x the domain's bits per character)"
)
DRIFT_FLOOR = 1e-3  # below this a row has not moved beyond float noise (or a single tiny step)
DRIFT_FRACTION = 0.1  # ... or moved less than a tenth of what the typical new row moved
NORM_Z = 3.0
COSTLY_RATIO = 2.0
MIN_OCCURRENCES = 2


def emission_share(ids: Iterable[int], new_start: int) -> float:
    """Share of `ids` that are new tokens (id >= new_start); NaN for no ids.

    >>> emission_share([5, 120, 7, 101], new_start=100)
    0.5
    """
    ids = list(ids)
    return sum(i >= new_start for i in ids) / len(ids) if ids else math.nan


def emitted_new(sequences: Iterable[Sequence[int]], new_start: int) -> Counter[int]:
    """How many times each new id appears in the generated sequences."""
    return Counter(i for seq in sequences for i in seq if i >= new_start)


class TokenCost:
    """A `bits_per_character` `on_scored` callback: occurrences and summed bits of each new id as a target."""

    def __init__(self, new_start: int) -> None:
        self.new_start = new_start
        self.count: Counter[int] = Counter()
        self.bits: dict[int, float] = {}

    def __call__(self, targets: torch.Tensor, nll: torch.Tensor) -> None:
        keep = targets >= self.new_start
        for tid, nats in zip(targets[keep].tolist(), nll[keep].double().tolist()):
            self.count[tid] += 1
            self.bits[tid] = self.bits.get(tid, 0.0) + nats / math.log(2)


def robust_z(values: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """(values - median(reference)) / (1.4826 x MAD(reference)): a z-score that outliers in `reference` do not skew.

    >>> round(float(robust_z(torch.tensor([4.0]), torch.tensor([1.0, 2.0, 3.0]))[0]), 3)
    1.349
    """
    med = reference.median()
    mad = (reference - med).abs().median() * 1.4826
    return (values - med) / (mad if mad > 0 else torch.tensor(1e-12))


@dataclass
class NewRowStat:
    """One new token: its rows' statistics, its cost in the domain text, its emissions, and the flags it earned."""

    id: int
    token: str
    text: str
    input_norm: float
    input_norm_z: float
    output_norm_z: float | None
    drift: float | None
    occurrences: int
    bits_per_char: float | None
    emitted: int
    flags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def row_stats(
    in_rows: torch.Tensor, out_rows: torch.Tensor | None, new_start: int, n_tokens: int, *,
    init: tuple[torch.Tensor, torch.Tensor | None] | None = None,
) -> dict[str, torch.Tensor]:
    """Per new row (ids new_start..n_tokens-1): input norm, robust z of input/output norms, drift from `init`."""
    new_in = in_rows[new_start:n_tokens].float()
    norms = new_in.norm(dim=1)
    stats = {"input_norm": norms, "input_norm_z": robust_z(norms, in_rows[:new_start].float().norm(dim=1))}
    if out_rows is not None:
        out_norms = out_rows[new_start:n_tokens].float().norm(dim=1)
        stats["output_norm_z"] = robust_z(out_norms, out_rows[:new_start].float().norm(dim=1))
    if init is not None:
        drift = _drift(new_in, init[0].float())
        if out_rows is not None and init[1] is not None:
            drift = torch.maximum(drift, _drift(out_rows[new_start:n_tokens].float(), init[1].float()))
        stats["drift"] = drift
    return stats


def _drift(rows: torch.Tensor, init: torch.Tensor) -> torch.Tensor:
    return (rows - init).norm(dim=1) / init.norm(dim=1).clamp_min(1e-12)


def flag_rows(stats: list[NewRowStat], domain_bpc: float | None) -> None:
    """Set each row's flags by the criterion in the module docstring."""
    drifts = sorted(s.drift for s in stats if s.drift is not None)
    limit = max(DRIFT_FLOOR, DRIFT_FRACTION * drifts[len(drifts) // 2]) if drifts else None
    for s in stats:
        s.flags = []
        if limit is not None and s.drift is not None and s.drift < limit:
            s.flags.append("unchanged")
        if abs(s.input_norm_z) > NORM_Z:
            s.flags.append("norm_outlier")
        if (domain_bpc and s.bits_per_char is not None and s.occurrences >= MIN_OCCURRENCES
                and s.bits_per_char > COSTLY_RATIO * domain_bpc):
            s.flags.append("costly")


def worst(stats: list[NewRowStat], k: int) -> list[NewRowStat]:
    """The K most under-trained flagged rows: most flags, then least drift, then most bits per character."""
    flagged = [s for s in stats if s.flags]
    flagged.sort(key=lambda s: (-len(s.flags), s.drift if s.drift is not None else math.inf,
                                -(s.bits_per_char or 0.0), -abs(s.input_norm_z), s.id))
    return flagged[:k]
