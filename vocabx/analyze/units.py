"""The corpus as the vocabulary learner sees it: distinct units (pieces of text no new token can cross: a
byte-level pre-token, a SentencePiece word) with their weights in two parts of the documents, each tokenized by
the base, and which boundaries between base tokens a new token may be *learned* across (term shape).

Term shape (`shape=True`, the default for the model path): no new token spans punctuation, a symbol, whitespace
(but a word's leading space, which these tokenizers keep on the word) or a line break, none joins a digit where the
base splits digits, and none starts or ends in a function character that belongs to its neighbour. A function
character is a one-character piece of jieba's segmentation tagged as a function word, and which neighbour it belongs
to is its class: particles, modal particles, locatives and measure words lean on the word before them (的, 了, 吗,
后, 次), so a new token may end in one (`高血压的`) and never start with one (`的范围`); prepositions, conjunctions
and adverbs lean on what follows (在, 和, 不), so a token may start with one (`不要`) and never end in one (`症状在`);
pronouns, numerals and interjections stand alone (我, 一, 啊) and join neither side. `目的` is one word, so its 的 is no
function character. Without shape, only the tokenizer's own boundaries hold.

    units("高血压的治疗。") for SmolLM2 -> {"高血压的治疗": ..., "。": ...}; learnable boundaries: 高|血, 血|压, 压|的, 治|疗
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import regex

from vocabx.adapters import HFTokenizerAdapter, SentencePieceAdapter, TokenizerAdapter
from vocabx.analyze.spans import group_spans
from vocabx.analyze.tokencount import CLASSES, TokenCounter, _plain_sentencepiece
from vocabx.errors import TokenizerError

log = logging.getLogger(__name__)

WORD_CHAR = regex.compile(r"[\p{L}\p{M}\p{N}]")
DIGIT = regex.compile(r"\p{Nd}")
LEADING_SPACE = (" ", "▁")
# Function-word tags of jieba's dictionary (ICTCLAS): particles, prepositions, conjunctions, locatives, pronouns,
# adverbs, modal words, interjections, onomatopoeia, numerals, measure words (termhood.FUNCTION_TAGS). Of these, the
# ones that lean on the word before them (a new token may end in them) and those that lean on what follows (a new
# token may start with them); the rest stand alone.
FUNCTION_TAG_PREFIXES = ("u", "p", "c", "f", "r", "d", "y", "e", "o", "m", "q")
LEANS_LEFT = ("u", "y", "f", "q")
LEANS_RIGHT = ("p", "c", "d")
_SP_WORD = regex.compile(r"▁*[^▁]+|▁+")
# With term shape no new piece holds a line break, so where the model keeps line breaks as they are (identity
# normalizer), lines are units of their own: text repeated line by line across documents is tokenized and counted
# once, and the projection stays exact (no learned piece can cross a line break).
_SP_LINE_WORD = regex.compile(r"▁*[^▁\n]+|▁+|\n+")


@dataclass
class Units:
    """Distinct units laid end to end as base token ids. `ok[i]`: a new token may be learned joining the token at
    i to the one before it; `word_end`: where each unit's tokens end; `wa`, `wb`: the unit's count in part A and
    part B of the documents. Ids at or above `vocab_size` are characters the base spells in several tokens that
    cannot merge (SentencePiece byte fallback), `pending[k]` the k-th, costing `cost` tokens."""

    texts: list[str]
    sym: np.ndarray
    ok: np.ndarray
    word_end: np.ndarray
    wa: np.ndarray
    wb: np.ndarray
    cost: np.ndarray
    vocab_size: int
    pending: list[str]
    chars: int  # characters of the documents (the projection's numerator)
    strings: list[str] = field(default_factory=list)  # per symbol id: its string in the model's alphabet
    spellings: list[bytes] = field(default_factory=list)  # per symbol id: the UTF-8 bytes it stands for
    char_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # per token: its character
    char_start: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # per token: starts that character

    @property
    def base_tokens(self) -> tuple[int, int]:
        """Tokens of part A and of part B under the base tokenizer."""
        per_word = np.diff(np.concatenate([[0], self.word_end]))
        costs = np.add.reduceat(self.cost[self.sym], np.concatenate([[0], self.word_end[:-1]])) if len(self.sym) \
            else per_word
        costs = np.where(per_word > 0, costs, 0)
        return int((costs * self.wa).sum()), int((costs * self.wb).sum())


def build_units(adapter: TokenizerAdapter, texts: Iterable[str], shape: bool,
                builder: UnitsBuilder | None = None) -> Units:
    """The units of `texts` for `adapter`'s family (byte-level BPE or SentencePiece BPE). Documents alternate
    between part A and part B (even and odd positions): counting on one part and choosing on the other keeps what
    only one document repeats (a signature, a template of one thread) from winning. `builder`: `units_builder`'s
    for this adapter, its vocabulary tables made ahead (`analyze` makes them while its workers scan)."""
    family = builder or units_builder(adapter)
    docs = list(texts)
    joined, cps, starts, ends, doc = family.spans(docs, shape)
    first, inverse, _, _ = group_spans(cps, starts, ends)
    part_b = (doc % 2).astype(np.float64)
    wa = np.bincount(inverse, weights=1.0 - part_b, minlength=len(first)).astype(np.int64)
    wb = np.bincount(inverse, weights=part_b, minlength=len(first)).astype(np.int64)
    words = [joined[a:b] for a, b in zip(starts[first].tolist(), ends[first].tolist())]
    units = family.tokenize(words)
    units.wa, units.wb, units.chars = wa, wb, sum(map(len, docs))
    units.ok &= learnable(words, units, family.split_digits) if shape else family.plain_boundaries(words, units)
    units.char_pos, units.char_start = units.char_pos[:0], units.char_start[:0]  # only `ok` needed them
    return units


def _joined(texts: Sequence[str]) -> tuple[str, np.ndarray, np.ndarray]:
    """The texts end to end, their code points and where each ends."""
    joined = "".join(texts)
    cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return joined, cps, np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))


def _token_bytes(token: str) -> bytes:
    """The bytes a byte-level token stands for; an added token outside the byte alphabet as its UTF-8."""
    from vocabx.extend.bpe_state import token_bytes

    try:
        return token_bytes(token)
    except KeyError:
        return token.encode("utf-8")


def _ranges(n: np.ndarray) -> np.ndarray:
    """0..n[0]-1, 0..n[1]-1, ... end to end."""
    return np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)


class _ByteLevel:
    """Units of a byte-level BPE: its pre-tokens, tokenized by its model (the same ids as in running text)."""

    families = ("bytelevel-bpe",)
    split_digits = False  # its pre-tokenizer separates digits already where it splits them

    def __init__(self, adapter: HFTokenizerAdapter, counter: TokenCounter | None = None) -> None:
        self.adapter = adapter
        self.counter = counter or TokenCounter(adapter, adapter.fallback_flags()[0])
        if self.counter.steps is None or self.counter.safe is None:
            raise TokenizerError(f"{adapter.name}: analyze cannot emulate this byte-level pre-tokenizer",
                                 hint="use a GPT-2-style byte-level tokenizer.json (SmolLM2, GPT-2, Llama-3, Qwen)")
        self.vocabulary = self._vocabulary()  # the tokenizer's alone: made once, before any corpus

    def spans(self, docs: list[str], shape: bool) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The documents (normalized) end to end and their pre-tokens as spans, with each one's document."""
        from vocabx.analyze.kernels import native
        from vocabx.analyze.segment import char_classes

        normalizer = self.counter.normalizer
        texts = [normalizer.normalize_str(t) for t in docs] if normalizer is not None else docs
        joined, cps, doc_ends = _joined(texts)
        if self.counter.gpt2_digits is not None:
            ends = np.frombuffer(native().gpt2_pretokenize(cps, char_classes(cps, CLASSES), doc_ends,
                                                                   self.counter.gpt2_digits), dtype=np.int64)
        else:  # another pre-tokenizer: its own splitting, document by document
            ends = np.array([o + e for t, o in zip(texts, (doc_ends - np.diff(np.concatenate([[0], doc_ends])))
                                                   .tolist()) for e in np.cumsum([len(p) for p in self._pieces(t)])],
                            dtype=np.int64)
        starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
        return joined, cps, starts, ends, np.searchsorted(doc_ends, starts, side="right")

    def _pieces(self, text: str) -> list[str]:
        pieces = [text]
        for step in self.counter.steps or []:
            pieces = [q for p in pieces for q in step(p)]
        return pieces

    def tokenize(self, words: list[str]) -> Units:
        """Base ids of each word, found per distinct piece between the tokenizer's safe cuts."""
        joined, cps, ends = _joined(words)
        bounds = self.counter._bounds(cps, ends)
        distinct, inverse, _ = self.counter._distinct(joined, cps, bounds)
        rows = self.counter.encoder.encode(distinct)
        n = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int32, count=int(n.sum()))
        take = np.repeat((np.cumsum(n) - n)[inverse], n[inverse]) + _ranges(n[inverse])
        sym = flat[take]
        owner = np.searchsorted(ends, bounds[:-1], side="right")  # the word of each piece
        per_word = np.bincount(owner, weights=n[inverse], minlength=len(words)).astype(np.int64)
        size = self.adapter.vocab_size
        units = Units(words, sym, np.ones(len(sym), np.uint8), np.cumsum(per_word), np.zeros(0), np.zeros(0),
                      np.ones(size, np.int32), size, [], 0)
        strings, spellings, vocab_bytes = self.vocabulary
        units.char_pos, units.char_start = _byte_positions(words, vocab_bytes[sym])
        units.strings, units.spellings = list(strings), list(spellings)
        return units

    def _vocabulary(self) -> tuple[list[str], list[bytes], np.ndarray]:
        """Per vocabulary id: its string in the model's alphabet, the bytes it stands for, and how many (the
        length of its byte-alphabet string)."""
        strings = [self.adapter.id_to_token(i) or "" for i in range(self.adapter.vocab_size)]
        vocab = self.adapter.tokenizer.get_vocab(with_added_tokens=True)
        lengths = np.zeros(self.adapter.vocab_size, dtype=np.int64)
        for token, i in vocab.items():
            if i < len(lengths):
                lengths[i] = len(token)
        return strings, list(map(_token_bytes, strings)), lengths

    def plain_boundaries(self, words: list[str], units: Units) -> np.ndarray:
        return np.ones(len(units.sym), np.uint8)


class _SentencePiece:
    """Units of a SentencePiece BPE: words (`▁` and what follows up to the next `▁`) of the normalized text, each
    segmented by the base; characters it spells in bytes become one pending symbol each."""

    families = ("sentencepiece-bpe",)  # a unigram model's pieces are not learned by merging

    def __init__(self, adapter: SentencePieceAdapter, counter: TokenCounter | None = None) -> None:
        self.adapter = adapter  # `counter` unused: SentencePiece words are encoded by the model itself
        self.dummy = "▁" if adapter.proto.normalizer_spec.add_dummy_prefix else ""
        self.split_digits = bool(adapter.proto.trainer_spec.split_digits)
        self.plain = _plain_sentencepiece(adapter)  # a line break stays one (a normalizer may make it a space)
        self.vocabulary = self._vocabulary()  # the tokenizer's alone: made once, before any corpus

    def spans(self, docs: list[str], shape: bool) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The documents normalized as the model does it (`▁` for spaces, a leading `▁`) and their words (with term
        shape, also cut at line breaks)."""
        texts = [self.dummy + t.replace(" ", "▁") if t else "" for t in docs]
        joined, cps, doc_ends = _joined(texts)
        offsets = (doc_ends - np.fromiter(map(len, texts), np.int64, count=len(texts))).tolist()
        rows = [(o + m.start(), o + m.end(), d) for d, (t, o) in enumerate(zip(texts, offsets))
                for m in (_SP_LINE_WORD if shape and self.plain else _SP_WORD).finditer(t)]
        arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
        return joined, cps, arr[:, 0], arr[:, 1], arr[:, 2]

    def tokenize(self, words: list[str]) -> Units:
        """Base pieces of each word; the bytes of a character spelled in bytes become one pending symbol (encoded
        and folded chunk by chunk: a long corpus has a hundred million byte pieces before folding)."""
        plain, tables, strings = self.vocabulary
        size = plain.get_piece_size()
        chunks = [self._fold(plain, words[i : i + ENCODE_CHUNK], tables) for i in range(0, len(words), ENCODE_CHUNK)]
        per_word, sym, n_chars = (np.concatenate([c[k] for c in chunks]) if chunks else np.zeros(0, np.int64)
                                  for k in range(3))
        chars = -sym[sym < 0] - 1  # pending characters were kept as -(code point + 1)
        seen = np.zeros(0x110000, bool)  # np.unique without its sort: code points index a table
        seen[chars] = True
        pending = np.flatnonzero(seen)
        code = (np.cumsum(seen) - 1)[chars]
        sym = sym.astype(np.int64)
        sym[sym < 0] = size + code
        costs = np.ones(size + len(pending), np.int32)
        costs[size:] = [len(chr(c).encode("utf-8")) for c in pending.tolist()]
        units = Units(words, sym.astype(np.int32), np.ones(len(sym), np.uint8), np.cumsum(per_word), np.zeros(0),
                      np.zeros(0), costs, size, [chr(c) for c in pending.tolist()], 0)
        units.char_pos, units.char_start = np.cumsum(n_chars) - n_chars, np.ones(len(units.sym), bool)
        units.strings = strings + units.pending
        units.spellings = [s.replace("▁", " ").encode("utf-8") for s in units.strings]
        return units

    def _vocabulary(self) -> tuple[Any, tuple[np.ndarray, np.ndarray, np.ndarray], list[str]]:
        """The model without its dummy prefix (units are encoded word by word), its piece tables, its pieces."""
        from vocabx.extend.sentencepiece import _variant

        plain = _variant(self.adapter.proto, add_dummy_prefix=False)
        return plain, self._tables(plain), [plain.id_to_piece(i) for i in range(plain.get_piece_size())]

    @staticmethod
    def _fold(plain, words: list[str], tables: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """(symbols per word, symbols, characters per symbol) of a chunk of words: pieces as their ids, each
        character spelled in byte pieces as one symbol -(code point + 1)."""
        is_byte, byte_value, piece_chars = tables
        rows = plain.encode([w.replace("▁", " ") for w in words], num_threads=-1)
        n = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        ids = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int32, count=int(n.sum()))
        del rows
        byte = is_byte[ids]
        value = byte_value[ids]
        keep = ~(byte & ((value & 0xC0) == 0x80))  # continuation bytes fold into their character's symbol
        lead = byte & keep
        cps = np.frombuffer(value[byte].tobytes().decode("utf-8", "replace").encode("utf-32-le"), dtype=np.uint32)
        sym = ids.astype(np.int64)
        sym[lead] = -cps.astype(np.int64) - 1
        per_word = np.add.reduceat(keep.astype(np.int64), np.cumsum(n) - n) if len(ids) else n
        per_word = np.where(n > 0, per_word, 0)
        return per_word, sym[keep], np.where(lead, 1, piece_chars[ids])[keep].astype(np.int32)

    @staticmethod
    def _tables(plain) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per piece id: is it a byte piece, its byte value, its length in characters."""
        size = plain.get_piece_size()
        pieces = [plain.id_to_piece(i) for i in range(size)]
        is_byte = np.array([plain.is_byte(i) for i in range(size)], dtype=bool)
        value = np.array([int(p[3:5], 16) if b else 0 for p, b in zip(pieces, is_byte)], dtype=np.uint8)
        return is_byte, value, np.array([len(p) for p in pieces], dtype=np.int64)

    def plain_boundaries(self, words: list[str], units: Units) -> np.ndarray:
        """Without term shape, SentencePiece still never joins digits it splits."""
        if not self.split_digits:
            return np.ones(len(units.sym), np.uint8)
        return learnable(words, units, True, digits_only=True)


ENCODE_CHUNK = 4096  # words per sentencepiece call: its Python lists of ids become arrays chunk by chunk


# The units of each adapter layout (`TokenizerAdapter.layout`); each lists the families it learns entries for.
_LAYOUTS: dict[str, type[_ByteLevel] | type[_SentencePiece]] = {
    "byte-level": _ByteLevel,
    "sentencepiece": _SentencePiece,
}


UnitsBuilder = _ByteLevel | _SentencePiece


def units_builder(adapter: TokenizerAdapter, counter: TokenCounter | None = None) -> UnitsBuilder:
    """The units builder for `adapter`'s layout and family; `TokenizerError` where analyze cannot learn entries.
    `counter`: a `TokenCounter` of `adapter` made already (`analyze` has one), else the builder makes its own."""
    units = _LAYOUTS.get(adapter.layout or "")
    if units is not None and adapter.family in units.families:
        return units(adapter, counter)  # type: ignore[arg-type]  # a layout names its adapter class (adapters.base)
    raise TokenizerError(f"{adapter.name} is a {adapter.family} tokenizer; analyze learns vocabulary for byte-level "
                         "BPE and SentencePiece BPE", hint="pass a tokenizer.json with a ByteLevel pre-tokenizer or a "
                         "SentencePiece BPE tokenizer.model (--tokenizer)")


def _byte_positions(words: list[str], token_bytes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per byte-level token of the words laid end to end: the character it starts in (an index into the joined
    words' characters) and whether it starts that character (not a later byte of it)."""
    raw = np.frombuffer("".join(words).encode("utf-8"), dtype=np.uint8)
    lead = (raw & 0xC0) != 0x80
    char_of_byte = np.cumsum(lead) - 1
    offset = np.cumsum(token_bytes) - token_bytes
    return char_of_byte[offset], lead[offset]


def learnable(words: Sequence[str], units: Units, split_digits: bool, digits_only: bool = False) -> np.ndarray:
    """Per token: 1 where a new token may join it to the one before (term shape; see the module docstring). A
    token starting inside a character (a byte-level piece of it) may always join: that completes the character."""
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    cps = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32)
    cut = _forbidden_boundaries(words, cps, lengths, split_digits, digits_only)  # per character: cut before it
    return (~units.char_start | ~cut[units.char_pos]).astype(np.uint8)


def _forbidden_boundaries(words: Sequence[str], cps: np.ndarray, lengths: np.ndarray, split_digits: bool,
                          digits_only: bool) -> np.ndarray:
    """Per character of the joined words: True where no new token may be learned across the boundary before it."""
    from vocabx.analyze.segment import char_classes

    classes = char_classes(cps, [WORD_CHAR, DIGIT]) if len(cps) else np.zeros(0, np.uint8)
    word, digit = (classes & 1).astype(bool), (classes & 2).astype(bool)
    first = np.zeros(len(cps), bool)
    first[(np.cumsum(lengths) - lengths)[lengths > 0]] = True
    prev_word = np.concatenate([[False], word[:-1]])
    prev_digit = np.concatenate([[False], digit[:-1]])
    cut = np.zeros(len(cps), bool)
    if split_digits:
        cut |= digit | prev_digit
    if not digits_only:
        space = (cps == ord(LEADING_SPACE[0])) | (cps == ord(LEADING_SPACE[1]))  # the word's own leading space
        leading = np.concatenate([[False], first[:-1] & space[:-1]])
        cut |= ~word | (~prev_word & ~leading)
        cut |= _function_cuts(words, cps, lengths)
    cut[first] = False  # a unit's first character has nothing before it inside the unit
    return cut


def _function_cuts(words: Sequence[str], cps: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per character: True where a one-character function word of jieba's segmentation of its unit forbids the
    boundary before it: after a function character unless it leans right, before one unless it leans left."""
    from vocabx.analyze.jiebacut import jieba_model
    from vocabx.analyze.segment import han_mask

    cut = np.zeros(len(cps) + 1, bool)
    han = han_mask(cps)
    if not han.any():
        return cut[:-1]
    _, pieces = jieba_model().cut_texts(list(words), hmm=True)
    ends = np.cumsum(pieces.astype(np.int64))
    starts = ends - pieces
    single = starts[pieces == 1]
    chars = np.unique(cps[single])
    if not len(chars):
        return cut[:-1]
    where = np.searchsorted(chars, cps[single])
    function, left, right = (c[where] for c in _function_words([chr(c) for c in chars.tolist()]))
    cut[single[function & ~left]] = True  # nothing joins it to the word before
    cut[single[function & ~right] + 1] = True  # nor to the one after
    return cut[:-1]


def _function_words(words: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per word: jieba's dictionary tags it as a function word (and not as a name); as one that leans on the word
    before it; as one that leans on what follows."""
    from vocabx.analyze.lexicon import jieba_lexicon

    lexicon = jieba_lexicon()
    codes = lexicon.tag_codes(words)
    names = lexicon.tag_class(("nr", "ns"))
    function, left, right = ((lexicon.tag_class(tags) & ~names)[codes]
                             for tags in (FUNCTION_TAG_PREFIXES, LEANS_LEFT, LEANS_RIGHT))
    return function, left, right
