"""Exact base-token counts of whole documents, fast: each distinct piece is tokenized once and multiplied by its
count. Byte-level BPE models are the slow case (BPE on long Chinese pre-tokens), so for them the pre-tokenizer is
emulated with `regex` and pre-tokens are cut further at *safe* boundaries, where no vocabulary token spans.

Why a safe cut is exact: a BPE merge joins two adjacent symbols into a vocabulary token, so a merge across the
boundary between bytes x|y would create a token holding the byte pair (x, y). If no token of the vocabulary holds
that pair, no merge ever crosses there and both sides are merged independently, in the same rank order. Chinese
text has few such pairs in an English-centric vocabulary: SmolLM2's 300k pre-tokens of the medical corpus become
4k distinct pieces, and counting takes a fraction of `encode_batch`'s time with the same total.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

import numpy as np
import regex

from vocabx.adapters import HFTokenizerAdapter, SentencePieceAdapter, TokenizerAdapter
from vocabx.adapters.sentencepiece import SP_BYTE, SP_CONTROL, SP_UNKNOWN, SP_UNUSED, SP_USER_DEFINED
from vocabx.analyze.kernels import native
from vocabx.analyze.ngrams import HashIndex
from vocabx.analyze.pieces import PieceEncoder
from vocabx.analyze.segment import char_classes
from vocabx.analyze.spans import group_spans

log = logging.getLogger(__name__)

# GPT-2's pattern, which a `ByteLevel(use_regex=True)` pre-tokenizer applies (tokenizers/src/pre_tokenizers/byte_level.rs).
GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
CACHE_LIMIT = 2_000_000  # distinct pieces remembered per process; cleared when full (memory stays bounded)

# \p{L}, \p{N} and \s as the `regex` module has them: bits 1, 2, 4 of the compiled pre-tokenizer's classes
CLASSES = (regex.compile(r"\p{L}"), regex.compile(r"\p{N}"), regex.compile(r"\s"))
Splitter = Callable[[str], list[str]]


def _isolating(pattern: str) -> Splitter:
    """A `Split(pattern, behavior="Isolated")` step: matches and the text between them become pieces."""
    compiled = regex.compile(f"({pattern})")
    return lambda text: [p for p in compiled.split(text) if p]


def _steps(node: dict | None) -> list[Splitter] | None:
    """Emulated pre-tokenizer steps for the node types seen in byte-level BPE tokenizers; None if unsupported."""
    if node is None:
        return []
    kind = node.get("type")
    if kind == "Sequence":
        steps: list[Splitter] = []
        for child in node.get("pretokenizers", []):
            sub = _steps(child)
            if sub is None:
                return None
            steps += sub
        return steps
    if kind == "ByteLevel":
        if node.get("add_prefix_space"):
            return None  # a space before the first piece only: rare in LLM tokenizers, not emulated
        return [_isolating(GPT2_PATTERN)] if node.get("use_regex", True) else []
    if kind == "Digits":
        return [_isolating(r"\p{N}" if node.get("individual_digits") else r"\p{N}+")]
    if kind == "Split" and node.get("behavior") == "Isolated" and not node.get("invert"):
        pattern = node.get("pattern", {})
        return [_isolating(pattern["Regex"] if "Regex" in pattern else regex.escape(pattern.get("String", "")))]
    return None


def _gpt2_digits(node: dict | None) -> int | None:
    """For the compiled pre-tokenizer: 0 for a lone `ByteLevel(use_regex)` (the GPT-2 pattern), 1 / 2 for a
    `Digits` step (individual digits / runs) before it, None for anything else (the regex path runs)."""
    if node is None:
        return None
    steps = node.get("pretokenizers", []) if node.get("type") == "Sequence" else [node]
    *head, last = steps or [{}]
    if last.get("type") != "ByteLevel" or not last.get("use_regex", True) or last.get("add_prefix_space"):
        return None
    if not head:
        return 0
    if len(head) == 1 and head[0].get("type") == "Digits":
        return 1 if head[0].get("individual_digits") else 2
    return None


def _adjacent(tokens: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Code points of `tokens` laid end to end, which token each belongs to, and the positions i where
    cps[i], cps[i + 1] lie side by side in one token (vectorized: vocabularies hold 30k-250k tokens)."""
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    cps = np.frombuffer("".join(tokens).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    owner = np.repeat(np.arange(len(tokens)), lengths)
    return cps, owner, np.flatnonzero(owner[1:] == owner[:-1])


def _byte_pairs(adapter: HFTokenizerAdapter) -> np.ndarray:
    """(256, 256) booleans: True where some vocabulary token holds byte x directly followed by byte y (tokens with
    a character outside the byte alphabet, such as added tokens, are skipped)."""
    cps, owner, adj = _adjacent(list(adapter.model_vocab()))
    pairs = np.zeros((256, 256), dtype=bool)
    if not len(cps):
        return pairs
    byte_of = np.full(max(int(cps.max()), *(ord(ch) for ch in adapter._byte_encoder.values())) + 1, -1, np.int64)
    for b, ch in adapter._byte_encoder.items():
        byte_of[ord(ch)] = b
    raw = byte_of[cps]
    bad = np.zeros(int(owner.max()) + 1, dtype=bool)
    bad[owner[raw < 0]] = True
    adj = adj[~bad[owner[adj]]]
    pairs[raw[adj], raw[adj + 1]] = True
    return pairs


def _sp_pairs(adapter: SentencePieceAdapter) -> np.ndarray:
    """Sorted keys `left * 0x110000 + right` of the characters that some piece holds side by side."""
    pieces = [p for p, t in zip(*adapter.piece_types) if t not in (SP_CONTROL, SP_UNKNOWN, SP_BYTE)]
    cps, _, adj = _adjacent(pieces)
    return np.unique(cps[adj] * 0x110000 + cps[adj + 1])


def _pair_lookup(pairs: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """`held(cps)`: for each adjacent pair cps[i], cps[i + 1], whether some piece holds it (`pairs`: sorted keys
    `left * 0x110000 + right`). Characters that start or end no pair skip the lookup: most Han characters of an
    English-centric vocabulary are in no piece longer than themselves."""
    index = HashIndex(pairs)
    lefts, rights = np.zeros(0x110000 + 1, dtype=bool), np.zeros(0x110000 + 1, dtype=bool)
    lefts[(pairs // 0x110000).astype(np.int64)] = True
    rights[(pairs % 0x110000).astype(np.int64)] = True

    def held(cps: np.ndarray) -> np.ndarray:
        cps = cps.astype(np.int64)
        out = np.zeros(max(len(cps) - 1, 0), dtype=bool)
        ask = np.flatnonzero(lefts[cps[:-1]] & rights[cps[1:]])
        out[ask] = index.lookup((cps[ask] * 0x110000 + cps[ask + 1]).view(np.uint64)) >= 0
        return out

    return held


def _han_pair_cutter(pairs: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Safe cuts for SentencePiece (BPE or unigram): between two CJK unified ideographs (NFKC leaves them as they
    are) that no piece holds side by side (`pairs`). BPE never merges across such a boundary, and every unigram
    lattice path passes through it, so both sides are segmented independently."""
    held = _pair_lookup(pairs)

    def safe(cps: np.ndarray) -> np.ndarray:
        han = (cps >= 0x4E00) & (cps <= 0x9FFF)
        return han[:-1] & han[1:] & ~held(cps)

    return safe


def _pair_cutter(pairs: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Safe cuts between any two characters that no piece holds side by side, for text already in the model's
    normalized form (`_plain_sentencepiece`), where no normalization can change a character."""
    held = _pair_lookup(pairs)
    return lambda cps: ~held(cps)


def _plain_sentencepiece(adapter: SentencePieceAdapter) -> bool:
    """A SentencePiece model whose normalization is only `▁` for spaces and a leading `▁` (Llama-2): identity
    normalizer, escaped whitespace kept as it is, no user-defined pieces (matched before segmentation) and no
    unused ones (BPE re-segments those)."""
    ns, ts = adapter.proto.normalizer_spec, adapter.proto.trainer_spec
    return (ns.name == "identity" and not ns.precompiled_charsmap and not ns.remove_extra_whitespaces
            and ns.escape_whitespaces and not ts.treat_whitespace_as_suffix and ts.model_type in (1, 2)
            and not any(t in (SP_USER_DEFINED, SP_UNUSED) for t in adapter.piece_types[1]))


def _utf8_edges(cps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last UTF-8 byte of each code point, computed arithmetically."""
    cps = cps.astype(np.int32)
    first = np.where(cps < 0x800, np.where(cps < 0x80, cps, 0xC0 | (cps >> 6)),
                     np.where(cps < 0x10000, 0xE0 | (cps >> 12), 0xF0 | (cps >> 18)))
    last = np.where(cps < 0x80, cps, 0x80 | (cps & 0x3F))
    return first, last


class TokenCounter:
    """`count(texts) -> (tokens, flagged tokens)`, equal to `adapter.encode_batch` lengths (tested), computed
    per distinct piece. `flags` marks byte-fallback / partial-UTF-8 ids (see `pieces.fallback_flags`)."""

    def __init__(self, adapter: TokenizerAdapter, flags: np.ndarray) -> None:
        self.adapter = adapter
        self.flags = flags
        self.cache: dict[str, tuple[int, int]] = {}
        self.steps: list[Splitter] | None = None
        self.safe: Callable[[np.ndarray], np.ndarray] | None = None  # cps -> may cut between cps[i], cps[i+1]
        self.encoder = PieceEncoder(adapter)
        self.plain_sp = False  # `_count_plain_sp` applies (set below)
        fast_path = _FAST_PATHS.get(adapter.layout or "")
        if fast_path is not None:  # without one, `count` encodes whole texts
            fast_path(self, adapter)
        self.mode = "pieces" if self.steps is not None else "encode"

    def _setup_sentencepiece(self, adapter: SentencePieceAdapter) -> None:
        """Safe cuts between Han characters no piece holds side by side; for a plain model, between any two."""
        pairs = _sp_pairs(adapter)
        self.safe = _han_pair_cutter(pairs)
        if _plain_sentencepiece(adapter):
            self.plain_sp = True
            self._any_pair = _pair_cutter(pairs)
            self.dummy = "▁" if adapter.proto.normalizer_spec.add_dummy_prefix else ""

    def _setup_bytelevel(self, adapter: HFTokenizerAdapter) -> None:
        """The emulated pre-tokenizer and, where no merge can cross a byte pair no token holds, safe cuts there."""
        spec = adapter.spec  # parsed once by the adapter; read only
        model = spec.get("model") or {}
        if model.get("type") != "BPE" or model.get("dropout"):
            return
        steps = _steps(spec.get("pre_tokenizer"))
        if steps is None:
            log.info("pre-tokenizer not emulated; counting tokens with encode_batch")
            return
        self.steps = steps
        self.gpt2_digits = _gpt2_digits(spec.get("pre_tokenizer"))  # the compiled path's pre-tokenizer, if any
        self.normalizer = adapter.tokenizer.normalizer
        added = [t["content"] for t in spec.get("added_tokens") or [] if t.get("content")]
        # Added tokens are matched before pre-tokenization: a document holding one takes the exact slow path.
        self.added = regex.compile("|".join(regex.escape(a) for a in added)) if added else None
        affixes = model.get("continuing_subword_prefix") or model.get("end_of_word_suffix")
        # ignore_merges looks whole pre-tokens up in the vocabulary first, so a piece is not independent of its
        # neighbours there; subword affixes change a piece's spelling by position. Both keep whole pre-tokens.
        if not affixes and not model.get("ignore_merges"):
            pairs = _byte_pairs(adapter)

            def safe(cps: np.ndarray) -> np.ndarray:
                first, last = _utf8_edges(cps)
                return ~pairs[last[:-1], first[1:]]

            self.safe = safe

    def clone(self) -> TokenCounter:
        """The same counter with a cache of its own, for another thread (encoders and tables are shared)."""
        twin = copy.copy(self)
        twin.cache = {}
        return twin

    def count(self, texts: Sequence[str]) -> tuple[int, int]:
        if self.plain_sp:
            return self._count_plain_sp(texts)
        if self.mode == "encode":
            return self._count_ids(self.adapter.encode_batch(texts))
        slow = [t for t in texts if self.added is not None and self.added.search(t)]
        tokens, flagged = self._count_ids(self.adapter.encode_batch(slow)) if slow else (0, 0)
        if slow:
            texts = [t for t in texts if not self.added.search(t)]  # type: ignore[union-attr]
        if self.normalizer is not None:
            texts = [self.normalizer.normalize_str(t) for t in texts]
        if self.gpt2_digits is not None and self.safe is not None:  # the compiled GPT-2 pre-tokenizer
            kernels = native()
            joined = "".join(texts)
            cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
            lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
            ends = np.frombuffer(kernels.gpt2_pretokenize(cps, char_classes(cps, CLASSES), np.cumsum(lengths),
                                                          self.gpt2_digits), dtype=np.int64)
            counts = self._cut_joined(joined, cps, ends)
        else:
            pretokens: list[str] = []
            for text in texts:
                pieces = [text]
                for step in self.steps:  # type: ignore[union-attr]
                    pieces = [q for p in pieces for q in step(p)]
                pretokens += pieces
            counts = self._cut(pretokens) if self.safe is not None else Counter(pretokens)
        more_tokens, more_flagged = self._count_pieces(counts)
        return tokens + more_tokens, flagged + more_flagged

    def _count_plain_sp(self, texts: Sequence[str]) -> tuple[int, int]:
        """`count` for a plain SentencePiece model: each text normalized as the model does it (`▁` for every space
        and a leading `▁`), cut wherever no piece holds the two characters side by side, and the distinct pieces
        tokenized once each (equal to `encode_batch`, tested on Llama-2 and random corner cases)."""
        normalized = [self.dummy + t.replace(" ", "▁") for t in texts if t]
        joined = "".join(normalized)
        if not joined:
            return 0, 0
        cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        ends = np.cumsum(np.fromiter(map(len, normalized), dtype=np.int64, count=len(normalized)))
        cut = np.ones(len(cps) + 1, dtype=bool)
        cut[1:-1] = self._any_pair(cps)
        cut[ends] = True
        distinct, _, counts = self._distinct(joined, cps, np.flatnonzero(cut))
        return self._count_pieces(Counter(dict(zip(distinct, counts.tolist()))))

    def _count_ids(self, ids: list[list[int]]) -> tuple[int, int]:
        total = sum(map(len, ids))
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=total)
        return total, int(self.flags[flat].sum())

    def piece_counts(self, pieces: Sequence[str]) -> np.ndarray:
        """Tokens of each piece as the base model splits it inside one pre-token (see `PieceEncoder`), through
        the same cache and, for byte-level BPE, the same safe cuts."""
        if not pieces:
            return np.zeros(0, dtype=np.int64)
        if self.safe is None:
            self._fill(list(dict.fromkeys(pieces)))
            cache = self.cache
            return np.fromiter((cache[p][0] for p in pieces), dtype=np.int64, count=len(pieces))
        ends = np.cumsum(np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces)))
        joined = "".join(pieces)
        cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        bounds = self._bounds(cps, ends)
        distinct, inverse, _ = self._distinct(joined, cps, bounds)
        self._fill(distinct)
        cost = np.fromiter((self.cache[p][0] for p in distinct), dtype=np.int64, count=len(distinct))[inverse]
        owner = np.searchsorted(ends, bounds[:-1], side="right")
        return np.bincount(owner, weights=cost, minlength=len(pieces)).astype(np.int64)

    def _cut(self, pretokens: list[str]) -> Counter[str]:
        """Distinct pieces and their counts after cutting every pre-token at its safe boundaries."""
        ends = np.cumsum(np.fromiter(map(len, pretokens), dtype=np.int64, count=len(pretokens)))
        joined = "".join(pretokens)
        return self._cut_joined(joined, np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32), ends)

    def _cut_joined(self, joined: str, cps: np.ndarray, ends: np.ndarray) -> Counter[str]:
        """`_cut` of the pre-tokens of `joined` that end at `ends`."""
        if not joined:
            return Counter()
        distinct, _, counts = self._distinct(joined, cps, self._bounds(cps, ends))
        return Counter(dict(zip(distinct, counts.tolist())))

    @staticmethod
    def _distinct(joined: str, cps: np.ndarray, bounds: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The distinct pieces between consecutive `bounds` in order of first appearance (strings made for those
        only), each piece's index among them, and their counts (`spans.group_spans`)."""
        first, inverse, counts, _ = group_spans(cps, bounds[:-1], bounds[1:])
        starts, stops = bounds[first].tolist(), bounds[first + 1].tolist()
        return [joined[a:b] for a, b in zip(starts, stops)], inverse, counts

    def _bounds(self, cps: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Cut positions (0 and len included): piece ends and every safe boundary inside a piece."""
        cut = np.ones(len(cps) + 1, dtype=bool)
        cut[1:-1] = self.safe(cps)  # type: ignore[misc]
        cut[ends] = True
        return np.flatnonzero(cut)

    def _fill(self, distinct: list[str]) -> None:
        """Tokenize the pieces not in the cache yet (one batch call)."""
        missing = [p for p in distinct if p not in self.cache]
        if not missing:
            return
        if len(self.cache) + len(missing) > CACHE_LIMIT:
            self.cache.clear()
        ids = self.encoder.encode(missing)
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
        flagged = np.bincount(np.repeat(np.arange(len(ids)), lengths), weights=self.flags[flat], minlength=len(ids))
        self.cache.update(zip(missing, zip(lengths.tolist(), flagged.astype(np.int64).tolist())))

    def _count_pieces(self, counts: Counter[str]) -> tuple[int, int]:
        self._fill(list(counts))
        tokens = flagged = 0
        cache = self.cache
        for piece, n in counts.items():
            t, f = cache[piece]
            tokens += t * n
            flagged += f * n
        return tokens, flagged


# Each adapter layout's fast path (`TokenizerAdapter.layout`): what the counter sets up to count per distinct piece.
_FAST_PATHS: dict[str, Callable[[TokenCounter, Any], None]] = {
    "byte-level": TokenCounter._setup_bytelevel,
    "sentencepiece": TokenCounter._setup_sentencepiece,
}
