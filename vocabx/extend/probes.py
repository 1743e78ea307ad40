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
    (0x7F, 0x9F, 1),  # DEL and the C1 controls
    (0x1AB0, 0x1AFF, 1),  # more combining marks (extended), and below: for symbols, half marks
    (0x20D0, 0x20FF, 1),
    (0xFE20, 0xFE2F, 1),
    (0x200B, 0x206F, 1),  # zero-width and bidi format characters, line/paragraph separators
    (0xE000, 0xF8FF, 1),  # private use
    (0xFFF0, 0xFFFF, 1),  # specials, the replacement character, non-characters
    (0x10000, 0x1FFFF, 1),  # the rest of plane 1: historic scripts, symbols, music, maths
    (0xE0000, 0xE01EF, 1),  # tags and variation selectors (plane 14)
    (0xF0000, 0x10FFFF, 1),  # supplementary private use (planes 15, 16)
    (0x0, 0xD7FF, 1),  # anything in the BMP below the surrogates, assigned or not
    (0xE000, 0x10FFFF, 1),  # anything above them, in every plane
)


def random_unicode(n: int, seed: int = 0, max_len: int = 40) -> list[str]:
    """`n` seeded random strings mixing the ranges above, every plane included, surrogates never (deterministic
    for a seed)."""
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
