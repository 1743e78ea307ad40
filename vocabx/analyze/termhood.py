"""Termhood and the domain ranking: is a candidate shaped like a term (a content word, or a phrase of adjacent
words that ends in a nominal head), and how specific is it to the domain (log-odds against a reference)?

Terms are noun phrases: 卷积/神经网络, 无线/传感器/网络. Strings glued to function words (的/影响, 过程/中, 提出/了)
or ending in a verb (结果/表明) are not, however domain-frequent. The word classes come from jieba's dictionary
tags (ICTCLAS tag set); words the dictionary lacks are treated as content words, which is what unknown technical
words are. The rank is log-odds delta * log(freq): the effect size says how much more the domain uses a term than
general language does (a frequency-driven z-score lets 分析, 结果 win), log(freq) favours terms seen often enough to
matter, without letting frequency dominate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from vocabx.analyze.lexicon import Lexicon

log = logging.getLogger(__name__)

# Tags of function words (ICTCLAS): particles u*, prepositions p, conjunctions c, locatives f, pronouns r*, adverbs
# d*, modal y, interjections e, onomatopoeia o, numerals m*, measure words q, prefixes h, suffixes k.
FUNCTION_TAGS = ("u", "p", "c", "f", "r", "d", "y", "e", "o", "m", "q", "h", "k")
# Pronouns, particles, modal words and interjections inside a phrase make it a clause (吃/什么/药), wherever they are.
CLAUSE_TAGS = ("r", "u", "y", "e")
# A phrase (two or more words) must not end in a verb, an adjective or an idiom: 结果/表明, 效果/明显, 要/始终保持
# are clauses, not terms.
IDIOM_TAGS = ("i", "l")  # idioms and fixed expressions (ICTCLAS), never domain terms
NON_HEAD_TAGS = ("v", "vd", "vi", "a", "ad", "ag", "vg", "i", "l")


def termhood(terms: Sequence[str], lexicon: Lexicon, cut: Callable[[str], list[str]]) -> np.ndarray:
    """True for each term shaped like a term: no function word at either edge, not an idiom; a phrase ends in a
    non-verb and holds no pronoun or particle. Words without a tag count as content words (tag `n`).

    >>> tags = {"的": "uj", "影响": "vn", "结果": "n", "表明": "v", "神经网络": "n", "卷积": "n"}
    >>> lex = Lexicon.from_dicts(dict.fromkeys(tags, 1), tags)
    >>> cut = {"的影响": ["的", "影响"], "结果表明": ["结果", "表明"], "卷积神经网络": ["卷积", "神经网络"]}.get
    >>> termhood(["的影响", "结果表明", "卷积神经网络"], lex, cut).tolist()
    [False, False, True]
    >>> lex = Lexicon.from_dicts({"吃": 1, "什么": 1, "药": 1}, {"吃": "v", "什么": "r", "药": "n"})
    >>> termhood(["吃什么药"], lex, {"吃什么药": ["吃", "什么", "药"]}.get).tolist()
    [False]
    """
    if not terms:
        return np.zeros(0, dtype=bool)
    split = [[w for w in cut(term) if w.strip()] or [term] for term in terms]
    sizes = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    last = first + sizes - 1
    # Per-word classes, looked up once for all words of all terms (tag code -1, untagged, selects False).
    tag = lexicon.tag_codes([w for words in split for w in words])
    function = lexicon.tag_class(prefixes=FUNCTION_TAGS)[tag]
    clause_word = lexicon.tag_class(prefixes=CLAUSE_TAGS)[tag]
    non_head = lexicon.tag_class(exact=NON_HEAD_TAGS)[tag]
    edges = function[first] | function[last]
    clause = (sizes > 1) & (non_head[last] | (np.add.reduceat(clause_word, first) > 0))
    idiom = lexicon.tag_class(exact=IDIOM_TAGS)[lexicon.tag_codes(terms)]  # 始终保持, 一般来说: set phrases
    return ~(edges | clause | idiom)


def domain_rank(delta: np.ndarray, freq: np.ndarray, is_term: np.ndarray) -> np.ndarray:
    """Priority of each candidate under the `domain` objective (higher first): delta * log(freq) for terms that
    are over-represented in the domain; the rest follow, in the same order, after every such term."""
    score = np.nan_to_num(delta, nan=0.0) * np.log(np.maximum(freq, 2))
    front = is_term & (np.nan_to_num(delta, nan=0.0) > 0)
    return np.where(front, score, score - (np.abs(score).max() + 1.0 if len(score) else 0.0) * 2)
