"""Tokenizer adapters: one per family behind `TokenizerAdapter`, and `load_tokenizer` for any spec."""

from vocabx.adapters.base import Family, TokenizerAdapter, TokenizerInfo
from vocabx.adapters.hf import HFTokenizerAdapter
from vocabx.adapters.loader import SUPPORTED, load_tokenizer
from vocabx.adapters.sentencepiece import SentencePieceAdapter

__all__ = [
    "SUPPORTED",
    "Family",
    "HFTokenizerAdapter",
    "SentencePieceAdapter",
    "TokenizerAdapter",
    "TokenizerInfo",
    "load_tokenizer",
]
