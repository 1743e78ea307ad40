"""A general-language word list as arrays (word hashes, frequencies, part-of-speech tags) with vectorized
lookups: jieba's dictionary (349k words), the reference for Chinese termhood and domain specificity. Cached as
`.npz`: arrays load without building 349k Python strings, as a pickled dict would. Entries are kept sorted by
key, so the lookup index needs no sort."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from vocabx.analyze.ngrams import HashIndex
from vocabx.analyze.spans import span_hashes

log = logging.getLogger(__name__)

CACHE_VERSION = "v4"  # bump when the cached arrays change meaning


def hash_words(words: Sequence[str]) -> np.ndarray:
    """64-bit keys of strings of any length (the polynomial hash with the length mixed in, see `span_hashes`).

    >>> bool(hash_words(["高血压"])[0] == hash_words(["血压", "高血压"])[1])
    True
    """
    if not words:
        return np.zeros(0, dtype=np.uint64)
    stops = np.cumsum(np.fromiter(map(len, words), dtype=np.int64, count=len(words)))
    cps = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32)
    # A leading pad keeps `stops - 1` valid for empty strings (they hash to their length, 0, and match nothing).
    cps = np.concatenate([np.zeros(1, np.uint32), cps])
    return span_hashes(cps, np.concatenate([[0], stops[:-1]]) + 1, stops + 1)


@dataclass
class Lexicon:
    """Words (by hash) with their frequency and tag; `tags` index `tag_names`, -1 where a word has no tag. Built by
    `from_dicts`, the entries are sorted by key."""

    keys: np.ndarray
    counts: np.ndarray
    tags: np.ndarray
    tag_names: list[str]
    total: int
    _index: HashIndex | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_dicts(cls, counts: Mapping[str, int], tags: Mapping[str, str] | None = None) -> Lexicon:
        """A lexicon of the words of `counts` (their total is the corpus size), tagged from `tags`."""
        tags = tags or {}
        words = list(counts)
        names = sorted(set(tags.values()))
        code = {name: i for i, name in enumerate(names)}
        keys = hash_words(words)
        order = np.argsort(keys)
        return cls(keys[order], np.fromiter(counts.values(), dtype=np.int64, count=len(words))[order],
                   np.array([code.get(tags.get(w, ""), -1) for w in words], dtype=np.int16)[order], names,
                   int(sum(counts.values())))

    def index(self) -> HashIndex:
        """The lookup index of the keys, built on first use."""
        if self._index is None:
            self._index = HashIndex(self.keys)
        return self._index

    def find(self, words: Sequence[str]) -> np.ndarray:
        """Index of each word in the lexicon, -1 where it is not an entry."""
        return self.index().lookup(hash_words(words))

    def count(self, words: Sequence[str]) -> np.ndarray:
        """Frequency of each word, 0 where it is not an entry."""
        idx = self.find(words)
        return np.where(idx >= 0, self.counts[idx.clip(0)], 0) if len(self.counts) else np.zeros(len(idx), np.int64)

    def tag_codes(self, words: Sequence[str]) -> np.ndarray:
        """Tag code of each word; -1 where untagged or not an entry."""
        idx = self.find(words)
        return np.where(idx >= 0, self.tags[idx.clip(0)], -1) if len(self.tags) else np.full(len(idx), -1)

    def tag_class(self, prefixes: tuple[str, ...] = (), exact: tuple[str, ...] = ()) -> np.ndarray:
        """Booleans per tag code (one more, False, at the end, which code -1 selects): tags starting with one of
        `prefixes` or equal to one of `exact`."""
        return np.array([name.startswith(prefixes) or name in exact for name in self.tag_names] + [False], dtype=bool)


def jieba_lexicon() -> Lexicon:
    """jieba's general dictionary (`jieba/dict.txt`), parsed once and cached (see the module docstring), with its
    lookup index built (`analyze` calls this while the workers scan, so that candidate scoring finds it ready)."""
    lexicon = _jieba_lexicon()
    lexicon.index()
    return lexicon


@lru_cache(maxsize=1)
def _jieba_lexicon() -> Lexicon:
    from vocabx.cache import cache_dir, file_key
    from vocabx.errors import package_dir
    from vocabx.outputs import write_atomic

    path = package_dir("jieba", "the general-Chinese reference (jieba's dict.txt)") / "dict.txt"
    cached = cache_dir("analyze") / f"jieba-dict-{CACHE_VERSION}-{file_key(path)}.npz"
    if cached.is_file():
        try:
            with np.load(cached) as data:
                return Lexicon(data["keys"], data["counts"], data["tags"], data["tag_names"].tolist(),
                               int(data["total"]))
        except (OSError, ValueError, KeyError):
            log.info("unreadable cache %s; parsing the dictionary again", cached)
    lexicon = Lexicon.from_dicts(*_parse_dict(path))
    write_atomic(cached, lambda fh: np.savez(fh, keys=lexicon.keys, counts=lexicon.counts, tags=lexicon.tags,
                                             tag_names=np.array(lexicon.tag_names, dtype=str),
                                             total=np.int64(lexicon.total)))
    return lexicon


def _parse_dict(path: Path) -> tuple[dict[str, int], dict[str, str]]:
    """(counts, tags) of a jieba dictionary file: `word freq [tag]` per line; a repeated word keeps its last line."""
    counts: dict[str, int] = {}
    tags: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split(" ")
        if len(fields) >= 2 and fields[1].isdigit():
            counts[fields[0]] = int(fields[1])
            if len(fields) >= 3:
                tags[fields[0]] = fields[2]
    return counts, tags
