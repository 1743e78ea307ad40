"""jieba's accurate mode run by the compiled kernels (`_jieba.c`, `jieba_cut`): the pieces `jieba.lcut(text, HMM=...)`
gives, as lengths, from jieba's own dictionary and HMM parameters.

Why not rjieba alone: it builds its dictionary at import (in every fresh process, before any work can start),
returns a Python string per piece where the scan needs only lengths, and differs from jieba where a
number range follows a word of single characters (its HMM splits `90-140` as one piece, jieba as three). The
kernel follows jieba's Python code step by step: the same blocks (re_han_default), the same route (the best sum of
log frequencies, the later word end on a tie, in the same floating-point order), the same regrouping of single
characters, and finalseg's Viterbi with the same tie-breaking; tests compare it with jieba on the shared corpora.

The model (the dictionary's words and prefixes with their frequencies in a hash table, the HMM's tables) is read from
jieba's package files once and cached as arrays (an `.npz` and the table as a memory-mapped `.npy`), which load
without rebuilding anything.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from vocabx.analyze.kernels import native

log = logging.getLogger(__name__)

CACHE_VERSION = "v1"  # bump when the cached arrays change meaning
STATES = "BMES"  # the kernel's state order
MIN_FLOAT = -3.14e100  # finalseg's log probability of what its tables lack


@dataclass(frozen=True)
class JiebaModel:
    """What `jieba_cut` needs: the dictionary's hash table (`slots`, 2**`bits` of them: words and prefixes with
    their log weights), the slot of each single character (`single`), -log(total), and the HMM's tables in state
    order B, M, E, S."""

    slots: np.ndarray
    bits: int
    single: np.ndarray
    neg_logtotal: float
    emit: np.ndarray
    start: np.ndarray
    trans: np.ndarray

    def cut_lengths(self, cps: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                    hmm: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(pieces per document, piece lengths) as int32 arrays for the documents cps[starts[i]:][:lengths[i]]
        (uint32 code points)."""
        counts, pieces = native().jieba_cut(
            np.ascontiguousarray(cps, dtype=np.uint32), np.ascontiguousarray(starts, dtype=np.int64),
            np.ascontiguousarray(lengths, dtype=np.int64), self.slots, self.bits, self.single, self.neg_logtotal,
            self.emit, self.start, self.trans, hmm)
        return np.frombuffer(counts, dtype=np.int32), np.frombuffer(pieces, dtype=np.int32)

    def cut_texts(self, texts: Sequence[str], hmm: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """`cut_lengths` of whole texts."""
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        cps = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        return self.cut_lengths(cps, np.cumsum(lengths) - lengths, lengths, hmm)

    def cut(self, text: str, hmm: bool = True) -> list[str]:
        """The pieces of `text`, as `jieba.lcut(text, HMM=hmm)` gives them."""
        _, pieces = self.cut_texts([text], hmm)
        ends = np.cumsum(pieces).tolist()
        return [text[a:b] for a, b in zip([0, *ends[:-1]], ends)]


def jieba_model() -> JiebaModel:
    """The model with its table built (once per process) from jieba's own dictionary and HMM tables."""
    return _model()


@lru_cache(maxsize=1)
def _model() -> JiebaModel:
    from vocabx.errors import package_dir

    return _cached_model(package_dir("jieba", "Chinese word segmentation"))


def _cached_model(package: Path) -> JiebaModel:
    """The model from the cache, else built from jieba's files and cached: the small arrays in an `.npz`, the table
    (24 MB) in an `.npy` mapped into memory, so that loading reads nothing it does not use and forked workers share
    the pages. The names hold the kernels' version: the table's layout is theirs."""
    from vocabx.analyze.kernels import VERSION
    from vocabx.cache import cache_dir, file_key
    from vocabx.outputs import write_atomic

    stem = cache_dir("analyze") / f"jieba-model-{CACHE_VERSION}-k{VERSION}-{file_key(package / 'dict.txt')}"
    small, table = stem.with_suffix(".npz"), stem.with_suffix(".slots.npy")
    if small.is_file() and table.is_file():
        try:
            with np.load(small) as data:
                arrays = {name: data[name] for name in data.files}
            return _assemble(arrays, np.load(table, mmap_mode="r"))
        except (OSError, ValueError, KeyError):
            log.info("unreadable cache %s; reading jieba's files again", small)
    arrays = model_arrays(package / "dict.txt")
    slots, single, bits = _table(arrays.pop("pool"), arrays.pop("offsets"), arrays.pop("logw"))
    arrays.update(single=single, bits=np.array(bits, dtype=np.int64))  # 0-d, as np.savez stores a scalar
    write_atomic(table, lambda fh: np.save(fh, slots))  # the table first: the pair is complete once the .npz exists
    # numpy types savez's **kwds against its allow_pickle: bool too; these keys are array names.
    write_atomic(small, lambda fh: np.savez(fh, **arrays))  # type: ignore[arg-type]
    return _assemble(arrays, slots)


def _assemble(arrays: dict[str, np.ndarray], slots: np.ndarray) -> JiebaModel:
    return JiebaModel(slots, int(arrays["bits"]), arrays["single"], float(arrays["neg_logtotal"]), arrays["emit"],
                      arrays["start"], arrays["trans"])


def _table(pool: np.ndarray, offsets: np.ndarray, logw: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The kernel's hash table of the entries (at least twice as many slots), the slot of each single character
    of the Basic Multilingual Plane (-1 where none, so the route finds those without hashing), and its bits."""
    bits = max(10, (2 * (len(offsets) - 1)).bit_length())
    slots, single = native().jieba_index(pool, offsets, logw, bits)
    return np.frombuffer(slots, dtype=np.uint8), np.frombuffer(single, dtype=np.int32), bits


def model_arrays(dictionary: Path) -> dict[str, np.ndarray]:
    """The model's arrays from a jieba dictionary file and finalseg's tables, read as jieba reads them: every line
    `word freq [tag]` sets the word's frequency (a repeated word keeps its last) and adds to the total (repeats
    included); every prefix of a word is an entry of frequency 0 unless it is a word itself."""
    from jieba.finalseg import prob_emit, prob_start, prob_trans

    freq: dict[str, int] = {}
    total = 0
    with open(dictionary, "rb") as fh:
        for line in fh:
            word, count = line.strip().decode("utf-8").split(" ")[:2]
            freq[word] = int(count)
            total += int(count)
            for end in range(1, len(word)):
                freq.setdefault(word[:end], 0)
    words = list(freq)
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    counts = np.fromiter(freq.values(), dtype=np.int64, count=len(words))
    logtotal = math.log(total)
    # log(freq) - logtotal as jieba computes it, entry by entry (the same libm log, the same subtraction); NaN marks
    # a prefix that is no word
    logw = np.array([math.log(c) - logtotal if c else math.nan for c in counts.tolist()], dtype=np.float64)
    size = max(max(map(ord, chars)) for chars in prob_emit.P.values()) + 1
    emit = np.full((size, 4), MIN_FLOAT, dtype=np.float64)
    for state, table in prob_emit.P.items():
        emit[[ord(ch) for ch in table], STATES.index(state)] = list(table.values())
    trans = np.full((4, 4), MIN_FLOAT, dtype=np.float64)
    for a, row in prob_trans.P.items():
        for b, value in row.items():
            trans[STATES.index(a), STATES.index(b)] = value
    return {
        "pool": np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32).copy(),
        "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "logw": logw,
        "neg_logtotal": np.array(0.0 - logtotal, dtype=np.float64),  # 0-d, as np.savez stores a scalar
        "emit": emit,
        "start": np.array([prob_start.P[s] for s in STATES], dtype=np.float64),
        "trans": trans,
    }
