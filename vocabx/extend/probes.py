"""Texts every extension is checked on besides the user's corpora: hand-picked hard cases (mixed scripts, spaces,
emoji sequences, code) and seeded random Unicode, so lossless and never-longer are tested beyond the domain.
"""

from __future__ import annotations

import random

PROBE_TEXTS: tuple[str, ...] = (
    "",
    " ",
    "Hello, world! The patient's blood pressure was 140/90 mmHg.",
    "  leading and trailing spaces  ",
    "tabs\tand\nnewlines\r\nand  double  spaces",
    "患者高血压病史10年，服用阿莫西林胶囊500mg。",
    "高血压高血压高血压",
    "头孢克肟分散片 vs 头孢",
    "Ｆｕｌｌｗｉｄｔｈ ＡＳＣＩＩ and 半角",
    "def f(x):\n    return x ** 2  # comment\n",
    "emoji 👩‍⚕️ 🇨🇳 🧑🏽‍💻 and ZWJ sequences",
    "e\u0301 combining accent vs é precomposed",
    "Ελληνικά, русский, العربية, हिन्दी, 한국어, 日本語のテキスト",
    "<|im_start|>user\n你好<|im_end|>",
    "\u200b zero width space and \ufeff BOM",
    "1234567890 3.14159 1e-9",
)

# Codepoint ranges the generator draws from, weighted towards the scripts tokenizers fragment most.
_RANGES: tuple[tuple[int, int, int], ...] = (
    (0x20, 0x7E, 4),  # ASCII
    (0xA0, 0x24F, 2),  # Latin-1 and Latin Extended
    (0x300, 0x36F, 1),  # combining marks
    (0x400, 0x4FF, 1),  # Cyrillic
    (0x3000, 0x30FF, 1),  # CJK punctuation, kana
    (0x4E00, 0x9FFF, 4),  # CJK ideographs
    (0xAC00, 0xD7A3, 1),  # Hangul
    (0x1F300, 0x1FAFF, 1),  # emoji
    (0x20000, 0x2A6DF, 1),  # CJK extension B (4-byte UTF-8)
    (0x0, 0x1F, 1),  # control characters, newline and tab
)


def random_unicode(n: int, seed: int = 0, max_len: int = 40) -> list[str]:
    """`n` seeded random strings mixing the ranges above (deterministic for a seed)."""
    rng = random.Random(seed)
    weights = [w for _, _, w in _RANGES]
    out = []
    for _ in range(n):
        chars = []
        for _ in range(rng.randint(1, max_len)):
            lo, hi, _ = rng.choices(_RANGES, weights)[0]
            chars.append(chr(rng.randint(lo, hi)))
        out.append("".join(chars))
    return out
