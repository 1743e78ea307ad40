"""`TextBatch`: many documents as one array of code points, so that selection measures every document of a batch
with a few numpy passes (character classes, n-gram hashes, repeated n-grams) instead of a Python loop per char.

>>> b = TextBatch(["ab", "abc"])
>>> b.starts.tolist(), b.lengths.tolist()
([0, 2], [2, 3])
"""

from __future__ import annotations

import functools
import unicodedata

import numpy as np

# Character classes, one byte per BMP code point (astral code points: Han for the CJK extension planes, else
# symbol). The order is the column order of `TextBatch.class_counts`.
CLASSES = ("space", "han", "latin", "digit", "punct", "symbol", "kana", "hangul", "cyrillic", "arabic",
           "other_letter", "control", "replacement", "latin1_supplement")
CLASS = {name: i for i, name in enumerate(CLASSES)}
SCRIPTS = ("han", "latin", "kana", "hangul", "cyrillic", "arabic", "other_letter")

# A multiplier of the rolling n-gram hash (odd, 64-bit) and the finalizer of splitmix64, so that nearby code
# points do not give nearby hashes.
_MULT = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@functools.lru_cache(maxsize=1)
def class_table() -> np.ndarray:
    """The class of each BMP code point (built once from unicodedata, 65,536 lookups, then cached)."""
    table = np.empty(0x10000, dtype=np.uint8)
    for cp in range(0x10000):
        table[cp] = _classify(cp)
    return table


def _classify(cp: int) -> int:
    if cp == 0xFFFD:
        return CLASS["replacement"]
    if 0x80 <= cp <= 0xFF and cp != 0xA0:  # C1 controls and Latin-1 letters/signs: mojibake's alphabet
        return CLASS["latin1_supplement"]
    cat = unicodedata.category(chr(cp))
    if cat in ("Zs", "Zl", "Zp") or chr(cp) in "\t\n\r\x0b\x0c":
        return CLASS["space"]
    if cat == "Nd":
        return CLASS["digit"]
    if cat.startswith("P"):
        return CLASS["punct"]
    if cat.startswith("S"):
        return CLASS["symbol"]
    if cat.startswith(("C", "Z")):
        return CLASS["control"]
    if cat.startswith(("L", "M", "N")):
        return CLASS[_script(cp)]
    return CLASS["other_letter"]


def _script(cp: int) -> str:
    if 0x3400 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or cp == 0x3007:
        return "han"
    if 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or 0xFF66 <= cp <= 0xFF9F:
        return "kana"
    if 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F:
        return "hangul"
    if 0x0400 <= cp <= 0x052F:
        return "cyrillic"
    if 0x0600 <= cp <= 0x06FF or 0x0750 <= cp <= 0x077F:
        return "arabic"
    if cp < 0x0250 or 0x1E00 <= cp <= 0x1EFF or 0xFF21 <= cp <= 0xFF5A:
        return "latin"
    return "other_letter"


class TextBatch:
    """Documents concatenated into one uint32 array of code points, with where each starts and how long it is."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self.cp = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
        self.doc = np.repeat(np.arange(len(texts), dtype=np.int64), self.lengths)

    def __len__(self) -> int:
        return len(self.texts)

    @functools.cached_property
    def classes(self) -> np.ndarray:
        """The class of every code point (see CLASSES); computed once per batch."""
        table = class_table()
        out = np.full(self.cp.shape, CLASS["symbol"], dtype=np.uint8)
        bmp = self.cp < 0x10000
        out[bmp] = table[self.cp[bmp]]
        out[(self.cp >= 0x20000) & (self.cp < 0x40000)] = CLASS["han"]
        return out

    def class_counts(self) -> np.ndarray:
        """[documents, len(CLASSES)] character counts per class."""
        k = len(CLASSES)
        flat = np.bincount(self.doc * k + self.classes, minlength=len(self) * k)
        return flat.reshape(len(self), k)

    def ngram_hashes(self, n: int, keep: np.ndarray | None = None, fold_case: bool = False
                     ) -> tuple[np.ndarray, np.ndarray]:
        """(hashes, document index) of every character n-gram that lies inside one document. With `keep`
        (a mask over code points), the n-grams are taken over the kept characters only (normalized text);
        `fold_case` maps ASCII capitals to small letters first."""
        cp, doc = (self.cp, self.doc) if keep is None else (self.cp[keep], self.doc[keep])
        if fold_case:
            cp = np.where((cp >= 65) & (cp <= 90), cp + np.uint32(32), cp)
        if cp.size < n:
            return np.empty(0, np.uint64), np.empty(0, np.int64)
        h = np.zeros(cp.size - n + 1, dtype=np.uint64)
        for k in range(n):  # polynomial rolling hash; uint64 arithmetic wraps, which is what we want
            h = h * _MULT + cp[k: cp.size - n + 1 + k].astype(np.uint64)
        inside = doc[: cp.size - n + 1] == doc[n - 1:]
        return mix64(h[inside]), doc[: cp.size - n + 1][inside]


def mix64(h: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a bijection on uint64 that spreads every input bit over the output."""
    h = h ^ (h >> np.uint64(30))
    h = h * _MIX1
    h = h ^ (h >> np.uint64(27))
    h = h * _MIX2
    return h ^ (h >> np.uint64(31))


def repeated_share(hashes: np.ndarray, doc: np.ndarray, n_docs: int) -> np.ndarray:
    """Per document, the share of its n-gram positions that repeat an n-gram seen earlier in the same document.

    >>> b = TextBatch(["abab", "abcd"])
    >>> repeated_share(*b.ngram_hashes(2), 2).round(3).tolist()   # ab ba [ab]: 1 of 3 repeats
    [0.333, 0.0]
    """
    total = np.bincount(doc, minlength=n_docs)
    if not hashes.size:
        return np.zeros(n_docs)
    keys = hashes ^ mix64(doc.astype(np.uint64) + np.uint64(1))  # the same n-gram in two documents: two keys
    _, first = np.unique(keys, return_index=True)
    distinct = np.bincount(doc[first], minlength=n_docs)
    return np.where(total > 0, 1.0 - distinct / np.maximum(total, 1), 0.0)
