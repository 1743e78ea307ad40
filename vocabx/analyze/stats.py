"""Term statistics: cohesion (minimum PMI over split points), left/right branching entropy, and domain
specificity as the log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from vocabx.analyze.lexicon import Lexicon
from vocabx.analyze.ngrams import NgramCounts, hash_rows

log = logging.getLogger(__name__)

# Total pseudo-count of the Dirichlet prior. Monroe et al. scale the prior to the background corpus; a fixed
# mass of a few thousand shrinks rare terms towards "not specific" without swamping frequent ones.
PRIOR_MASS = 5000.0


def cohesion(counts: NgramCounts, n: int, rows: np.ndarray | None = None) -> np.ndarray:
    """For each n-gram w of the length-n table (or of its `rows`): min over split points of PMI(left part, right
    part), in nats.

    `PMI = log(c(w) * N / (c(a) * c(b)))` with N the Han characters scanned; the weakest split decides, so a
    string glued from two independent words (`的高`) scores low even if one split looks strong.
    """
    table = counts.tables[n]
    total = max(counts.positions, 1)
    chars, whole = (table.chars, table.counts) if rows is None else (table.chars[rows], table.counts[rows])
    best = np.full(len(whole), np.inf)
    for k in range(1, n):
        left = counts.tables[k].count_of(hash_rows(chars[:, :k]))
        right = counts.tables[n - k].count_of(hash_rows(chars[:, k:]))
        # A part missing from its table was pruned in a shard where it was rare: treat it as seen once as often
        # as the whole (its count is at least that), the most conservative value.
        left = np.maximum(left, whole)
        right = np.maximum(right, whole)
        best = np.minimum(best, np.log(whole * float(total) / (left * right.astype(np.float64))))
    return best


def branching_entropy(counts: NgramCounts, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Left and right branching entropy (nats) of each n-gram of the length-n table, from the (n+1)-gram table.

    Occurrences at a run boundary (punctuation, a non-Han character, the document edge) and extensions pruned
    as rare each count as a distinct neighbour: a term that often ends a clause is free on that side.
    """
    table = counts.tables[n]
    longer = counts.tables[n + 1]
    c = longer.counts.astype(np.float64)
    c_log_c = c * np.log(c)
    freq = table.counts.astype(np.float64)
    sides = []
    for part in (longer.chars[:, 1:], longer.chars[:, :-1]):  # suffix part -> left neighbour; prefix -> right
        idx = table.lookup(hash_rows(part))
        found = idx >= 0
        acc = np.bincount(idx[found], weights=c_log_c[found], minlength=len(table.keys))
        sides.append(np.log(freq) - acc / freq)
    return sides[0], sides[1]


def log_odds(y: np.ndarray, n_y: float, r: np.ndarray, n_r: float,
             prior_mass: float = PRIOR_MASS) -> tuple[np.ndarray, np.ndarray]:
    """(delta, z): the log-odds ratio of each term in the domain against the reference, and its z-score (see
    `log_odds_z`). delta is the effect size (how much more the domain uses the term), z its significance."""
    y = y.astype(np.float64)
    r = r.astype(np.float64)
    alpha = np.maximum(prior_mass * (y + r) / max(n_y + n_r, 1.0), 1e-3)
    delta = np.log((y + alpha) / (n_y + prior_mass - y - alpha)) - np.log((r + alpha) / (n_r + prior_mass - r - alpha))
    return delta, delta / np.sqrt(1.0 / (y + alpha) + 1.0 / (r + alpha))


def log_odds_z(y: np.ndarray, n_y: float, r: np.ndarray, n_r: float, prior_mass: float = PRIOR_MASS) -> np.ndarray:
    """z-scores of the log-odds ratio of each term in the domain (counts y of n_y) against the reference (r of n_r).

    The prior is informative: alpha_w = prior_mass * (y_w + r_w) / (n_y + n_r). Positive z: over-represented in
    the domain; |z| > 1.96 is significant at 5 %.
    """
    y = y.astype(np.float64)
    r = r.astype(np.float64)
    alpha = prior_mass * (y + r) / max(n_y + n_r, 1.0)
    alpha = np.maximum(alpha, 1e-3)
    delta = np.log((y + alpha) / (n_y + prior_mass - y - alpha)) - np.log((r + alpha) / (n_r + prior_mass - r - alpha))
    return delta / np.sqrt(1.0 / (y + alpha) + 1.0 / (r + alpha))


def dict_reference(terms: Sequence[str], lexicon: Lexicon, cut: Callable[[str], list[str]]) -> np.ndarray:
    """Expected occurrences of each term in the lexicon's reference corpus: its own count when it is an entry;
    for a phrase the lexicon lacks, the count its words would give if independent (total * prod(c_w / total),
    at most the rarest word's count), so 网络中 (two frequent words) stays general while 卷积神经网络 is specific.

    >>> lex = Lexicon.from_dicts({"高血压": 876, "病人": 20000, "其他": 59_979_124})  # total 60M
    >>> dict_reference(["高血压", "高血压病人"], lex, lambda t: [t[:3], t[3:]]).tolist()
    [876.0, 0.29]
    """
    out = np.zeros(len(terms))
    if not len(terms):
        return out
    idx = lexicon.find(terms)
    known = idx >= 0
    out[known] = lexicon.counts[idx[known]]
    unknown = np.flatnonzero(~known)
    split = [cut(terms[i]) or [terms[i]] for i in unknown.tolist()]  # never empty: reduceat needs every group
    sizes = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
    parts = lexicon.count([w for words in split for w in words]).astype(np.float64)
    if len(parts):
        first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        rarest = np.minimum.reduceat(parts, first)
        # Left to right, as np.prod multiplies short arrays, so the values match the per-term loop they replace.
        product = np.multiply.reduceat(parts / lexicon.total, first)
        phrase = (sizes > 1) & (rarest > 0)
        out[unknown[phrase]] = np.minimum(float(lexicon.total) * product[phrase], rarest[phrase])
    return np.round(out, 2)


def reference_counts(terms: list[str], ngrams: NgramCounts | None, words: Counter[str] | None) -> np.ndarray:
    """Occurrences of each term in a reference corpus: Han terms from its n-gram tables, other words from its
    word counts."""
    from vocabx.analyze.ngrams import hash_strings
    from vocabx.analyze.segment import is_han_text

    out = np.zeros(len(terms), dtype=np.int64)
    by_len: dict[int, list[int]] = {}
    for i, term in enumerate(terms):
        if ngrams is not None and is_han_text(term) and len(term) in ngrams.tables:
            by_len.setdefault(len(term), []).append(i)
        elif words is not None:
            out[i] = words.get(term, 0)
    if ngrams is not None:  # by_len is empty otherwise
        for n, idx in by_len.items():
            out[idx] = ngrams.tables[n].count_of(hash_strings([terms[i] for i in idx]))
    return out
