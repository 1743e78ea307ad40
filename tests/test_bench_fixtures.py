"""Tiny real tokenizers for the bench tests, built in-process: hand-made byte-level BPEs and a trained WordPiece."""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from vocabx.adapters import HFTokenizerAdapter

WORDPIECE_TEXT = ["hello world", "the world is big", "hello there", "big hello"] * 20


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
