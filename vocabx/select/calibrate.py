"""Fitting a relevance model and choosing its threshold from the domain sample and the reference alone.

The reference is usually a sample of the pool, which holds domain documents too, so the model is fitted twice:
once against the whole reference, then against the reference documents the first model scores as general
(score <= 0). The threshold is the midpoint between the 99th percentile of those general documents' scores and
the 1st percentile of held-out domain scores (5-fold over the sample): the middle of the margin between the two.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vocabx.select.relevance import Learner, Scorer
from vocabx.select.textbatch import TextBatch

log = logging.getLogger(__name__)

FOLDS = 5
# The fewest domain documents to learn from: with 5 folds, each held-out fold then has at least 6 documents, and
# the 1st percentile of held-out scores rests on 30; on the bench pool 30 documents still gave precision and
# recall above 0.9 (bench/RESULTS.md, "sample size").
MIN_DOMAIN_DOCS = 30
MIN_DOMAIN_CHARS = 3_000


@dataclass
class Calibrated:
    """The fitted scorer, its threshold, and how the threshold was found (for the report)."""

    scorer: Scorer
    threshold: float
    heldout_recall: float  # share of held-out domain-sample scores >= threshold (5-fold)
    reference_pass: float  # share of the reference's general documents scoring >= threshold
    reference_general: int  # reference documents kept as general for the second fit
    reference_docs: int
    heldout_q01: float
    general_q99: float

    def as_dict(self) -> dict[str, float | int | str]:
        return {"scorer": self.scorer.name, "threshold": round(self.threshold, 6),
                "heldout_recall": round(self.heldout_recall, 4), "reference_pass": round(self.reference_pass, 4),
                "reference_docs": self.reference_docs, "reference_general": self.reference_general,
                "heldout_q01": round(self.heldout_q01, 6), "general_q99": round(self.general_q99, 6)}


def _scores(scorer: Scorer, texts: Sequence[str]) -> np.ndarray:
    out = [scorer.score(TextBatch(list(texts[i:i + 2048]))) for i in range(0, len(texts), 2048)]
    return np.concatenate(out) if out else np.empty(0)


def heldout_scores(learner: Learner, domain: Sequence[str], reference: Sequence[str], seed: int) -> np.ndarray:
    """Scores of every domain document by a model fitted without its fold."""
    folds = np.random.default_rng(seed).permutation(len(domain)) % FOLDS
    out = np.empty(len(domain))
    for f in range(FOLDS):
        train = [t for t, k in zip(domain, folds) if k != f]
        test = [t for t, k in zip(domain, folds) if k == f]
        out[folds == f] = _scores(learner.fit(train, reference), test)
    return out


def calibrate(learner: Learner, domain: Sequence[str], reference: Sequence[str], *, seed: int = 42,
              threshold: float | None = None) -> Calibrated:
    """Fit, refit against the reference's general part, and pick the threshold (unless one is given)."""
    first = learner.fit(domain, reference)
    general = [t for t, s in zip(reference, _scores(first, reference)) if s <= 0]
    if not general:
        general = list(reference)  # everything looked like the domain: keep the whole reference as negatives
    scorer = learner.fit(domain, general)
    general_scores = _scores(scorer, general)
    general_scores = general_scores[np.isfinite(general_scores)]
    held = heldout_scores(learner, domain, general, seed)
    held = held[np.isfinite(held)]
    q99 = float(np.quantile(general_scores, 0.99)) if general_scores.size else 0.0
    q01 = float(np.quantile(held, 0.01)) if held.size else 0.0
    if threshold is None:
        threshold = (q99 + q01) / 2
    log.info("%s: threshold %.4f (general q99 %.4f, held-out domain q01 %.4f)", scorer.name, threshold, q99, q01)
    return Calibrated(scorer, float(threshold), float((held >= threshold).mean()) if held.size else 0.0,
                      float((general_scores >= threshold).mean()) if general_scores.size else 0.0,
                      len(general), len(reference), q01, q99)
