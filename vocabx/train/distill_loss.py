"""The distillation losses: what the base model (teacher, base tokenization) teaches the extended model (student,
extended tokenization) at every aligned position.

Notation, at the boundary before extended token j: the teacher's next-token distribution p_T over base ids, the
student's p_S over base + new ids. B is the set of old tokens that start some new token, A the rest, G = B + new.

- `canonical`: cross-entropy against the canonical target q. An old token in A keeps exactly its teacher mass
  (no new token starts with it, so nothing of its mass moves); the group G keeps the teacher's mass of B as a
  whole; inside G, the observed token is a sample of q(. | G):
      L = -sum_{v in A} p_T(v) log p_S(v) - p_T(B) log p_S(G) - [x in G] log p_S(x | G)
  Its minimum is q, so new tokens take mass only from the old tokens they extend (never from `，` or `我`). The
  teacher's A-part is stored sparsely: its top K tokens by name, the rest of A as one lump.
- `likelihood`: the student's log-probability of each chunk against the teacher's summed log-probability of the
  base tokens it covers (approximate likelihood matching), as a binary cross-entropy of the two probabilities
  with a temperature; the teacher's side drops the mass of one-token longer new tokens (where the extended
  tokenizer would not have stopped).
- `hidden`: mean squared error between the student's and the teacher's hidden states where a chunk opens (both
  have read the same text), relative to the teacher's mean squared norm.
- `lm`: plain next-token cross-entropy on the extended tokenization.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

LOSSES = ("canonical", "likelihood", "hidden", "lm")


@dataclass
class Targets:
    """The teacher's side of a batch, per student position [batch, seq]: position t has read tokens < t and
    predicts `labels[t]`. `open`: labels[t] opens a chunk (both models have read the same bytes: the canonical loss
    and the hidden states apply there); `close`: labels[t] closes one (the likelihood loss applies there);
    `chunk_from`: the position of the chunk's first prediction. Hidden targets: [layers, batch, seq, dim].
    """

    labels: torch.Tensor
    open: torch.Tensor
    close: torch.Tensor
    chunk_from: torch.Tensor
    top_ids: torch.Tensor  # [b, s, K] long: the teacher's top K tokens of A (padded with -1)
    top_logp: torch.Tensor  # [b, s, K]
    rest_logp: torch.Tensor  # [b, s]: log p_T(A minus top K)
    group_logp: torch.Tensor  # [b, s]: log p_T(B)
    chunk_logp: torch.Tensor  # [b, s]: the teacher's log-probability of the chunk closed at t + 1
    hidden: torch.Tensor | None  # [layers, b, s, d], meaningful at opening positions


def log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x <= 0, stable on both sides of log(1/2)."""
    x = x.clamp(max=-1e-7)
    return torch.where(x < -0.6931, torch.log1p(-torch.exp(x)), torch.log(-torch.expm1(x)))


def canonical_loss(logp: torch.Tensor, t: Targets, in_a: torch.Tensor) -> torch.Tensor:
    """Summed canonical cross-entropy over opening positions. `logp` [b, s, V'] student log-probabilities (they
    sum to 1, so log p_S(G) = log(1 - p_S(A))); `in_a` [V'] bool: the old tokens that start no new token."""
    valid = t.top_ids >= 0
    top_s = logp.gather(-1, t.top_ids.clamp_min(0))  # [b, s, K]
    lse_a = torch.logsumexp(logp.masked_fill(~in_a, -torch.inf), dim=-1)  # one [b, s, V'] copy
    lse_g = log1mexp(lse_a)
    top_lse = torch.logsumexp(top_s.masked_fill(~valid, -torch.inf), dim=-1)
    rest_s = lse_a + log1mexp(top_lse - lse_a)
    top_t = t.top_logp.masked_fill(~valid, -torch.inf).exp()
    loss = -(top_t * top_s).masked_fill(~valid, 0).sum(-1)
    loss = loss - t.rest_logp.exp() * rest_s - t.group_logp.exp() * lse_g
    # The observed token, when it falls in G, is a sample of q(. | G).
    labels = t.labels.clamp_min(0)
    in_g = ~in_a[labels] & (t.labels >= 0)
    observed = logp.gather(-1, labels[..., None]).squeeze(-1) - lse_g
    return loss[t.open].sum() - observed[t.open & in_g].sum()


def chunk_student_logp(token_logp: torch.Tensor, t: Targets) -> torch.Tensor:
    """The student's log-probability of each chunk, at its closing position: the sum over the chunk's tokens."""
    csum = torch.cumsum(token_logp, dim=1)
    before = torch.where(t.chunk_from > 0, csum.gather(1, (t.chunk_from - 1).clamp_min(0)), torch.zeros_like(csum))
    return csum - before


def likelihood_loss(token_logp: torch.Tensor, t: Targets, temperature: float) -> torch.Tensor:
    """Summed binary cross-entropy between teacher and student chunk probabilities (tempered), minus its value at
    the teacher's own probability (so a perfect student scores 0)."""
    mask = t.close
    student = chunk_student_logp(token_logp, t)[mask] / temperature
    teacher = t.chunk_logp[mask].clamp(max=0) / temperature
    p = teacher.exp()
    bce = -(p * student + (1 - p) * log1mexp(student))
    floor = -(p * teacher + (1 - p) * log1mexp(teacher))
    return (bce - floor).sum()


def hidden_loss(student_hidden: list[torch.Tensor], t: Targets) -> torch.Tensor:
    """Summed relative squared error of hidden states at opening positions, averaged over the layers."""
    mask = t.open
    total = student_hidden[0].new_zeros(())
    for layer, hs in enumerate(student_hidden):
        target = t.hidden[layer][mask].float()
        scale = target.pow(2).mean().clamp_min(1e-6)
        total = total + (hs[mask].float() - target).pow(2).mean(dim=1).sum() / scale
    return total / len(student_hidden)


def lm_loss(token_logp: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Summed next-token negative log-likelihood of the extended tokenization."""
    return -token_logp[valid].sum()


@dataclass
class Weights:
    """How much each loss counts (0 switches it off), and the likelihood loss's temperature."""

    canonical: float = 1.0
    likelihood: float = 1.0
    hidden: float = 1.0
    lm: float = 0.0
    temperature: float = 1.0


def distill_losses(logits: torch.Tensor, hidden: list[torch.Tensor], t: Targets, in_a: torch.Tensor,
                   w: Weights) -> dict[str, torch.Tensor]:
    """Each enabled loss, averaged over the positions it applies to, and their weighted sum under "loss"."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    valid = t.labels >= 0
    token_logp = logp.gather(-1, t.labels.clamp_min(0)[..., None]).squeeze(-1).masked_fill(~valid, 0.0)
    n_open = t.open.sum().clamp_min(1)
    n_close = t.close.sum().clamp_min(1)
    parts: dict[str, torch.Tensor] = {}
    if w.canonical:
        parts["canonical"] = canonical_loss(logp, t, in_a) / n_open
    if w.likelihood:
        parts["likelihood"] = likelihood_loss(token_logp, t, w.temperature) / n_close
    if w.hidden and hidden:
        parts["hidden"] = hidden_loss(hidden, t) / n_open
    if w.lm:
        parts["lm"] = lm_loss(token_logp, valid) / valid.sum().clamp_min(1)
    parts["loss"] = sum(getattr(w, k) * v for k, v in parts.items())
    return parts
