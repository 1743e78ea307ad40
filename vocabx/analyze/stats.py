"""Term statistics: cohesion (minimum PMI over split points), left/right branching entropy, and domain
specificity as the log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008)."""

from __future__ import annotations

import logging
import os
import pickle
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from vocabx.analyze.ngrams import NgramCounts, hash_rows

log = logging.getLogger(__name__)

# Total pseudo-count of the Dirichlet prior. Monroe et al. scale the prior to the background corpus; a fixed
# mass of a few thousand shrinks rare terms towards "not specific" without swamping frequent ones.
PRIOR_MASS = 5000.0


def cohesion(counts: NgramCounts, n: int) -> np.ndarray:
    """For each n-gram w of the length-n table: min over split points of PMI(left part, right part), in nats.

    `PMI = log(c(w) * N / (c(a) * c(b)))` with N the Han characters scanned; the weakest split decides, so a
    string glued from two independent words (`的高`) scores low even if one split looks strong.
    """
    table = counts.tables[n]
    total = max(counts.positions, 1)
    best = np.full(len(table.keys), np.inf)
    for k in range(1, n):
        left = counts.tables[k].count_of(hash_rows(table.chars[:, :k]))
        right = counts.tables[n - k].count_of(hash_rows(table.chars[:, k:]))
        # A part missing from its table was pruned in a shard where it was rare: treat it as seen once as often
        # as the whole (its count is at least that), the most conservative value.
        left = np.maximum(left, table.counts)
        right = np.maximum(right, table.counts)
        best = np.minimum(best, np.log(table.counts * float(total) / (left * right.astype(np.float64))))
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


def jieba_dict_counts() -> tuple[dict[str, int], int]:
    """Word frequencies of jieba's general dictionary (`jieba/dict.txt`, 349k words) and their total."""
    counts, total, _ = _jieba_dict()
    return counts, total


def jieba_dict_tags() -> dict[str, str]:
    """Part-of-speech tag (ICTCLAS) of each word of jieba's dictionary."""
    return _jieba_dict()[2]


@lru_cache(maxsize=1)
def _jieba_dict() -> tuple[dict[str, int], int, dict[str, str]]:
    """(counts, total, tags) of jieba's dictionary, parsed once and kept as a pickle in the vocabx cache (keyed
    by the file's size and mtime), which loads several times faster than parsing 349k lines."""
    from vocabx.cache import cache_dir
    from vocabx.errors import require

    jieba = require("jieba", "the general-Chinese reference (jieba's dict.txt)")
    path = Path(jieba.__file__).parent / "dict.txt"
    stat = path.stat()
    cached = cache_dir("analyze") / f"jieba-dict-v2-{stat.st_size}-{int(stat.st_mtime)}.pickle"
    if cached.is_file():
        try:
            with open(cached, "rb") as fh:
                return pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError):
            log.info("unreadable cache %s; parsing the dictionary again", cached)
    counts: dict[str, int] = {}
    tags: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split(" ")
        if len(fields) >= 2 and fields[1].isdigit():
            counts[fields[0]] = int(fields[1])
            if len(fields) >= 3:
                tags[fields[0]] = fields[2]
    result = (counts, sum(counts.values()), tags)
    tmp = cached.with_suffix(f".tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, cached)  # atomic: concurrent runs never read half a file
    return result


def dict_reference(terms: list[str], counts: dict[str, int], total: int, cut: Callable[[str], list[str]]) -> np.ndarray:
    """Expected occurrences of each term in the dictionary's reference corpus: its own count when it is an entry;
    for a phrase the dictionary lacks, the count its words would give if independent (total * prod(c_w / total),
    at most the rarest word's count), so 网络中 (two frequent words) stays general while 卷积神经网络 is specific.

    >>> dict_reference(["高血压", "高血压病人"], {"高血压": 876, "病人": 20000}, 60_000_000, lambda t: [t[:3], t[3:]]).tolist()
    [876.0, 0.29]
    """
    out = np.zeros(len(terms))
    for i, term in enumerate(terms):
        known = counts.get(term)
        if known is not None:
            out[i] = known
            continue
        parts = [counts.get(w, 0) for w in cut(term)]
        if len(parts) > 1 and min(parts) > 0:
            out[i] = min(float(total) * float(np.prod(np.array(parts, dtype=np.float64) / total)), min(parts))
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
    for n, idx in by_len.items():
        out[idx] = ngrams.tables[n].count_of(hash_strings([terms[i] for i in idx]))
    return out
