"""Which byte strings would not decode to whole UTF-8 characters, for many segments at once: what tells a byte-level
BPE token that holds part of a character (`é«` of 高) from one that holds whole characters.
"""

from __future__ import annotations

import numpy as np


def utf8_replaced(data: np.ndarray, owner: np.ndarray, segments: int) -> np.ndarray:
    """Per segment of the bytes `data` (`owner`: each byte's segment, non-decreasing): would decoding it hold
    U+FFFD, an invalid sequence or the character itself (RFC 3629: leads C2-F4 with their continuation bytes,
    E0/ED/F0/F4 with their narrower second byte)?

    >>> utf8_replaced(np.frombuffer("é".encode() + b"\\xe4" + "\ufffd".encode(), np.uint8), np.array([0, 0, 1, 2, 2, 2]), 3).tolist()
    [False, True, True]
    """
    n = len(data)
    bad = (data == 0xC0) | (data == 0xC1) | (data >= 0xF5)
    cont = (data & 0xC0) == 0x80
    need = np.select([(data >= 0xC2) & (data <= 0xDF), (data >= 0xE0) & (data <= 0xEF), (data >= 0xF0) & (data <= 0xF4)],
                     [1, 2, 3], 0)
    claimed = np.zeros(n, dtype=bool)
    for k in (1, 2, 3):
        lead = np.flatnonzero(need >= k)
        at = lead + k
        inside = at < n
        inside[inside] = owner[at[inside]] == owner[lead[inside]]
        bad[lead[~inside]] = True  # the sequence runs past its segment's end
        lead, at = lead[inside], at[inside]
        bad[lead[~cont[at]]] = True  # a continuation byte missing
        claimed[at] = True
    bad |= cont & ~claimed  # a continuation byte no lead claims
    second = np.minimum(np.arange(n) + 1, max(n - 1, 0))
    nxt = data[second] if n else data
    bad |= ((data == 0xE0) & (nxt < 0xA0)) | ((data == 0xED) & (nxt > 0x9F)) | ((data == 0xF0) & (nxt < 0x90)) | (
        (data == 0xF4) & (nxt > 0x8F))
    # U+FFFD itself (EF BF BD): in a valid segment, EF only ever starts a character
    third = np.minimum(np.arange(n) + 2, max(n - 1, 0))
    bad |= (data == 0xEF) & (nxt == 0xBF) & (data[third] == 0xBD) & (owner[third] == owner) if n else bad
    return np.bincount(owner[bad], minlength=segments) > 0
