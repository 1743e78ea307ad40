"""The distillation losses: what the base model (teacher, base tokenization) teaches the extended model (student,
extended tokenization) at every aligned position.

Notation, at the boundary before extended token j: the teacher's next-token distribution p_T over base ids, the
student's p_S over base + new ids. A new token starts with one base token b1 and goes on with a second, b2; the
group G(b) is b with every new token that starts with b.

- `canonical`: cross-entropy against the canonical target, in three levels, each exact where the teacher can say:
  1. which base token comes next: p_S(G(b)) against p_T(b) for every b (the top K by name, the rest as one lump),
     so a new token takes mass only from the old token it starts with (never from `，` or `我`); p_T without the
     base tokens that cannot come next (they would have extended the previous token into a longer new one);
  2. inside G(b1) of the observed b1, how its mass splits by the second base token: the new tokens that begin
     (b1, b2) against p_T(b2 | b1), b1 alone against the mass of the b2 that continue no new token. A byte
     fragment that starts thousands of characters keeps only the mass of those not in the vocabulary;
  3. inside that, the observed token is a sample (the tokenizer's choice among tokens sharing two base tokens).
     Level 2 counts a continuation as taken by a new token where the extended tokenizer may still stop at b1
     (a longer new token that the text does not complete): an approximation that errs towards the new tokens.
- `likelihood`: the student's log-probability of each chunk against the teacher's summed log-probability of the
  base tokens it covers (approximate likelihood matching), as a binary cross-entropy of the two probabilities
  with a temperature. The teacher's side is canonical: a chunk gives up the mass of the base tokens that would
  extend it into a longer new token (the extended tokenizer would not have stopped there), and the next chunk's
  probability is renormalized without them, so a window's chunk targets sum to the teacher's log-probability.
- `hidden`: mean squared error between the student's and the teacher's hidden states where a chunk opens (both
  have read the same text), relative to the teacher's mean squared norm.
- `lm`: plain next-token cross-entropy on the extended tokenization.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

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
    top_ids: torch.Tensor  # [b, s, K] long: the teacher's top K next base tokens (padded with -1)
    top_logp: torch.Tensor  # [b, s, K]
    rest_logp: torch.Tensor  # [b, s]: log p_T(every other base token)
    pair_ids: torch.Tensor  # [b, s, K] long: the top K (b1, b2) pairs of the observed b1 (padded with -1)
    pair_logp: torch.Tensor  # [b, s, K]: log p_T(b2 | b1) of each
    alone_logp: torch.Tensor  # [b, s]: log p_T(b2 continues no new token | b1)
    has2: torch.Tensor  # [b, s] bool: level 2 applies
    chunk_logp: torch.Tensor  # [b, s]: the teacher's log-probability of the chunk closed at t + 1
    hidden: torch.Tensor | None  # [layers, b, s, d], meaningful at opening positions


def log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x <= 0, stable on both sides of log(1/2)."""
    x = x.clamp(max=-1e-7)
    return torch.where(x < -0.6931, torch.log1p(-torch.exp(x)), torch.log(-torch.expm1(x)))


TINY = 1e-30


@dataclass
class Groups:
    """Which group each student id belongs to: `first` [V'] the base token each id starts with (padding rows of
    the embedding, with no token, point past the base vocabulary), `pair` [V' - V] the index of each new id's
    first two base tokens (padding: past the last pair)."""

    base_size: int
    first: torch.Tensor
    pair: torch.Tensor
    n_pairs: int

    @classmethod
    def from_vocab(cls, vmap, rows: int) -> Groups:
        """From a `VocabMap` and the student's number of embedding rows."""
        first = torch.full((rows,), vmap.base_size, dtype=torch.long)
        first[: vmap.size] = torch.from_numpy(vmap.first_base)
        pairs = vmap.pair_of_new
        n_pairs = int(pairs.max()) + 1 if pairs.size else 0
        pair = torch.full((rows - vmap.base_size,), n_pairs, dtype=torch.long)
        pair[: pairs.size] = torch.from_numpy(pairs)
        return cls(vmap.base_size, first, pair, n_pairs)

    def to(self, device: torch.device) -> Groups:
        return Groups(self.base_size, self.first.to(device), self.pair.to(device), self.n_pairs)


def canonical_loss(logp: torch.Tensor, t: Targets, groups: Groups) -> torch.Tensor:
    """Summed canonical cross-entropy over opening positions (levels 1-3 of the module docstring). `logp`
    [b, s, V'] student log-probabilities; group masses are sums of probabilities (float32)."""
    o = t.open
    lp = logp[o]  # [n, V']
    p = lp.exp()
    rows = torch.arange(lp.size(0), device=lp.device)
    v = groups.base_size
    # Level 1: the student's mass of each group G(b); one extra column gathers the padding rows.
    g1 = torch.cat([p[:, :v], p.new_zeros(p.size(0), 1)], 1).index_add(1, groups.first[v:], p[:, v:])
    top_ids = t.top_ids[o].long()
    valid = top_ids >= 0
    g_top = g1.gather(1, top_ids.clamp_min(0)).masked_fill(~valid, 0)
    w_top = t.top_logp[o].exp().masked_fill(~valid, 0)
    loss = -(w_top * g_top.clamp_min(TINY).log()).sum(1)
    loss = loss - t.rest_logp[o].exp() * (1 - g_top.sum(1)).clamp_min(TINY).log()
    # Level 2: inside G(b1) of the observed first base token.
    labels = t.labels[o].clamp_min(0)
    b1 = groups.first[labels].clamp(max=v)
    g_b1 = g1[rows, b1].clamp_min(TINY)
    alone = p[rows, b1.clamp(max=v - 1)]
    g2 = p.new_zeros(p.size(0), groups.n_pairs + 1).index_add(1, groups.pair, p[:, v:])
    pair_ids = t.pair_ids[o].long()
    has_pair = pair_ids >= 0
    g2_top = g2.gather(1, pair_ids.clamp_min(0)).masked_fill(~has_pair, 0)
    rest2 = (g_b1 - alone - g2_top.sum(1)).clamp_min(TINY)
    w2 = t.pair_logp[o].exp().masked_fill(~has_pair, 0)
    w_alone = t.alone_logp[o].exp()
    w_rest = (1 - w2.sum(1) - w_alone).clamp_min(0)
    log_g = g_b1.log()
    level2 = -(w2 * (g2_top.clamp_min(TINY).log() - log_g[:, None])).sum(1) \
        - w_alone * (alone.clamp_min(TINY).log() - log_g) - w_rest * (rest2.log() - log_g)
    has2 = t.has2[o]
    loss = loss + level2.masked_fill(~has2, 0)
    # Level 3: the observed token inside its smallest group (its pair where level 2 applies, else G(b1)).
    x_lp = lp[rows, labels]
    is_new = labels >= v
    x_pair = groups.pair[(labels - v).clamp_min(0)]
    in_top = (pair_ids == x_pair[:, None]).any(1)
    own = torch.where(in_top, g2[rows, x_pair], rest2)
    group_lp = torch.where(has2, own.clamp_min(TINY).log(), log_g)
    level3 = torch.where(has2 & ~is_new, torch.zeros_like(x_lp), x_lp - group_lp)
    return loss.sum() - level3.sum()


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
    assert t.hidden is not None  # the teacher stored hidden states for the layers the student returns
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
    lm: float = 1.0
    temperature: float = 1.0


def distill_losses(logits: torch.Tensor, hidden: list[torch.Tensor], t: Targets, groups: Groups,
                   w: Weights) -> dict[str, torch.Tensor]:
    """Each enabled loss, averaged over the positions it applies to, and their weighted sum under "loss"."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    valid = t.labels >= 0
    token_logp = logp.gather(-1, t.labels.clamp_min(0)[..., None]).squeeze(-1).masked_fill(~valid, 0.0)
    n_open = t.open.sum().clamp_min(1)
    n_close = t.close.sum().clamp_min(1)
    parts: dict[str, torch.Tensor] = {}
    if w.canonical:
        parts["canonical"] = canonical_loss(logp, t, groups) / n_open
    if w.likelihood:
        parts["likelihood"] = likelihood_loss(token_logp, t, w.temperature) / n_close
    if w.hidden and hidden:
        parts["hidden"] = hidden_loss(hidden, t) / n_open
    if w.lm:
        parts["lm"] = lm_loss(token_logp, valid) / valid.sum().clamp_min(1)
    parts["loss"] = sum(getattr(w, k) * v for k, v in parts.items())
    return parts
