"""Tiny real tokenizers built in-process: the suite's one byte-level BPE trainer (`train_bpe`) and one SentencePiece
trainer (`train_sp`), the bases built on them, hand-made byte-level BPEs and a WordPiece for the bench tests, and
`CharAdapter`, a family with only the protocol's abstract methods.

Plain helpers with no tests: tests/conftest.py turns the shared ones into session fixtures, and test modules import
the rest from here (never from one another).
"""

from __future__ import annotations

import io
import json

import sentencepiece as spm
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from vocabx.adapters import HFTokenizerAdapter, TokenizerAdapter

# A few medical sentences: the conftest tokenizers are trained on them, the analyze tests mine them.
MED = ["高血压患者要注意饮食。", "高血压的治疗需要长期服药，高血压患者应定期复查。", "血压高不一定是高血压。"] * 4

# What `base_bpe` learns from: English and Chinese, so the base has merges in both scripts.
BASE_CORPUS = [
    "the patient has high blood pressure and the doctor checks it",
    "hello world, hello there; the world is wide",
    "患者有高血压，医生建议低盐饮食。",
    "糖尿病患者需要控制血糖，高血压患者需要控制血压。",
] * 20

WORDPIECE_TEXT = ["hello world", "the world is big", "hello there", "big hello"] * 20


def train_bpe(texts: list[str], vocab_size: int = 300, special_tokens: tuple[str, ...] = ()) -> Tokenizer:
    """A byte-level BPE (GPT-2 style, no prefix space) trained on `texts`: `special_tokens` take the first ids, then
    the 256 byte symbols, then merges up to `vocab_size`. Every BPE in the suite comes from here."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(special_tokens),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return tok


def train_sp(sentences: list[str], model_type: str = "bpe", vocab_size: int = 360, **options) -> bytes:
    """A SentencePiece model trained into memory, as serialized bytes. Byte fallback on, every character of the
    tiny corpus kept and digits split unless `options` (any SentencePieceTrainer flag) say otherwise."""
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=buf, vocab_size=vocab_size, model_type=model_type,
        **{"byte_fallback": True, "character_coverage": 1.0, "split_digits": True, "minloglevel": 2, **options},
    )
    return buf.getvalue()


def base_bpe(vocab_size: int = 300, specials: tuple[str, ...] = ("<|end|>",), ignore_merges: bool = False,
             ) -> HFTokenizerAdapter:
    """The base the extend, verify and CLI tests grow: a BPE trained on BASE_CORPUS (the 256 byte symbols plus a
    few dozen merges), with `specials` added after them (the first at id `vocab_size`)."""
    tok = train_bpe(BASE_CORPUS, vocab_size)
    tok.add_special_tokens(list(specials))
    spec = json.loads(tok.to_str())
    spec["model"]["ignore_merges"] = ignore_merges
    return HFTokenizerAdapter(json.dumps(spec, ensure_ascii=False), "tiny", "memory")


def bytelevel_json(merges: list[tuple[str, str]]) -> str:
    """A byte-level BPE over the 256-symbol byte alphabet plus the given merges (each adds its joined symbol).

    With merges [("a", "b")], "ababababab" encodes to 5 tokens; with none, to 10 (one per byte).
    """
    vocab = {symbol: i for i, symbol in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=list(merges)))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return tok.to_str()


def bytelevel(name: str, merges: list[tuple[str, str]]) -> HFTokenizerAdapter:
    return HFTokenizerAdapter(bytelevel_json(merges), name=name, source=f"memory:{name}")


def wordpiece_json() -> str:
    """A small lowercasing WordPiece trained on a few English sentences: lossy on case and punctuation spacing."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=80, special_tokens=["[UNK]"], show_progress=False)
    tok.train_from_iterator(WORDPIECE_TEXT + [",."], trainer)
    return tok.to_str()


class CharAdapter(TokenizerAdapter):
    """A family with only the abstract methods: one id per character of a four-entry vocabulary."""

    family = "unigram"
    name = "chars"
    source = "memory"
    VOCAB = ("<unk>", "a", "b", "<0xE9>")

    @property
    def vocab_size(self) -> int:
        return len(self.VOCAB)

    def encode(self, text: str) -> list[int]:
        return [self.VOCAB.index(c) if c in self.VOCAB else 0 for c in text]

    def decode(self, ids) -> str:
        return "".join(self.VOCAB[i] for i in ids)

    def id_to_token(self, token_id: int) -> str | None:
        return self.VOCAB[token_id] if 0 <= token_id < len(self.VOCAB) else None

    def token_to_id(self, token: str) -> int | None:
        return self.VOCAB.index(token) if token in self.VOCAB else None

    def pretokenize(self, text: str) -> list[tuple[str, tuple[int, int]]]:
        return [(text, (0, len(text)))]

    def term_to_token(self, term: str) -> str:
        return term
