"""Quality filters of the kind the large pretraining pipelines run (Gopher, C4, FineWeb): length, language (by
writing system), mojibake, symbol share, repeated lines, repeated n-grams and boilerplate. Each document gets the
first rule it breaks as its reason, so every rejection is counted once, under one name.

Rules are computed for a whole `TextBatch` at once; boilerplate is one regex search per document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from vocabx.select.textbatch import CLASS, SCRIPTS, TextBatch, repeated_share

# The order in which rules are checked, which is also the order of the report's counts. The first group runs on
# every document in a few numpy passes; the second (an n-gram sort, a regex per line) only on the documents the
# relevance model keeps, since most of a mixed pool is dropped as general anyway.
REASONS = ("too_short", "too_long", "mojibake", "language", "symbols", "repeated_lines")
COSTLY_REASONS = ("repeated_ngrams", "boilerplate")

# Lines that web pages carry around their content (navigation, legal notices, sharing prompts), in the two
# languages of vocabx's corpora. A line holding one of them counts as boilerplate (C4 drops such lines).
BOILERPLATE = re.compile(
    # The lookahead lets the regex engine skip, with one set test, the positions where no phrase can start.
    r"(?=[版免保未转点扫关联上下返网登注分用隐ICcaptjlsrCAPTJLSR京])"
    r"(?:版权所有|免责声明|保留所有权利|未经授权|转载请注明|点击(?:这里|查看|进入|下载|阅读)|扫一扫|关注我们|联系我们|关于我们"
    r"|上一篇|下一篇|返回首页|网站地图|登录|注册|分享到|用户协议|隐私政策|ICP备|京公网安备"
    r"|copyright|all rights reserved|privacy policy|terms of (?:use|service)|cookie|javascript|lorem ipsum"
    r"|click here|sign (?:in|up)|log ?in|subscribe|share this|read more)",
    re.IGNORECASE,
)
REPEAT_N = 10  # characters per n-gram when measuring repetition: about five Chinese words or two English ones


@dataclass(frozen=True)
class QualityRules:
    """Thresholds of the quality filters (each a field of `SelectConfig` too)."""

    min_chars: int = 50
    max_chars: int | None = None
    scripts: frozenset[str] = frozenset()  # empty: any writing system
    max_mojibake_share: float = 0.05
    max_symbol_share: float = 0.1
    min_letter_share: float = 0.5
    max_dup_line_share: float = 0.3
    max_repeated_ngram_share: float = 0.3
    max_boilerplate_share: float = 0.3

    def check(self, batch: TextBatch) -> list[str | None]:
        """The first of REASONS each document breaks, or None where it passes them all."""
        out: list[str | None] = [None] * len(batch)
        for reason, mask in self._masks(batch).items():  # in REASONS order
            for i in np.flatnonzero(mask).tolist():
                if out[i] is None:
                    out[i] = reason
        return out

    def check_costly(self, batch: TextBatch) -> list[str | None]:
        """The first of COSTLY_REASONS each document breaks, or None."""
        repeated = repeated_share(*batch.ngram_hashes(REPEAT_N), len(batch)) > self.max_repeated_ngram_share
        out: list[str | None] = ["repeated_ngrams" if r else None for r in repeated.tolist()]
        for i, text in enumerate(batch.texts):
            if out[i] is None and boilerplate_share(text) > self.max_boilerplate_share:
                out[i] = "boilerplate"
        return out

    def _masks(self, batch: TextBatch) -> dict[str, np.ndarray]:
        counts = batch.class_counts()
        visible = np.maximum(batch.lengths - counts[:, CLASS["space"]], 1)
        letters = counts[:, [CLASS[s] for s in SCRIPTS]].sum(axis=1)
        masks = {"too_short": batch.lengths < self.min_chars}
        if self.max_chars is not None:
            masks["too_long"] = batch.lengths > self.max_chars
        masks["mojibake"] = (counts[:, CLASS["replacement"]] + counts[:, CLASS["latin1_supplement"]]
                             + counts[:, CLASS["control"]]) / visible > self.max_mojibake_share
        if self.scripts:
            wanted = counts[:, [CLASS[s] for s in SCRIPTS if s in self.scripts]].sum(axis=1)
            masks["language"] = (letters > 0) & (wanted < 0.5 * letters)  # no letters at all: "symbols"
        masks["symbols"] = ((counts[:, CLASS["symbol"]] / visible > self.max_symbol_share)
                            | (letters / visible < self.min_letter_share))
        masks["repeated_lines"] = np.array([dup_line_share(t) for t in batch.texts]) > self.max_dup_line_share
        return masks


def dup_line_share(text: str) -> float:
    """Share of the characters that sit in lines repeating an earlier line (Gopher's duplicate-line fraction).

    >>> dup_line_share("aaaa\\nbb\\nbb")
    0.25
    """
    if "\n" not in text:
        return 0.0
    seen: set[str] = set()
    repeated = total = 0
    for line in text.split("\n"):
        line = line.strip()
        total += len(line)
        if line in seen:
            repeated += len(line)
        seen.add(line)
    return repeated / total if total else 0.0


def boilerplate_share(text: str) -> float:
    """Share of the characters in lines that hold a boilerplate phrase (navigation, legal notices, prompts).

    >>> boilerplate_share("高血压的治疗方法\\n版权所有 2015")   # 9 of 17 characters
    0.5294117647058824
    """
    if BOILERPLATE.search(text) is None:
        return 0.0
    lines = [line.strip() for line in text.split("\n")]
    total = sum(map(len, lines))
    return sum(len(line) for line in lines if BOILERPLATE.search(line)) / total if total else 0.0


def dominant_scripts(batch: TextBatch, min_share: float = 0.1) -> frozenset[str]:
    """The writing systems that make up at least `min_share` of the letters of `batch` (the domain sample)."""
    counts = batch.class_counts().sum(axis=0)
    letters = {s: int(counts[CLASS[s]]) for s in SCRIPTS}
    total = max(sum(letters.values()), 1)
    return frozenset(s for s, n in letters.items() if n / total >= min_share)
