"""Corpus intake: every vocabx command reads its text through `open_corpus` (files, directories, globs,
Hugging Face datasets and named corpus cards; detected encodings; streamed)."""

from vocabx.corpus.cards import Card, list_cards, load_card
from vocabx.corpus.config import CorpusConfig
from vocabx.corpus.document import CorpusStats, Document
from vocabx.corpus.reader import Corpus, iter_texts, open_corpus
from vocabx.corpus.specs import split_field

__all__ = [
    "Card",
    "Corpus",
    "CorpusConfig",
    "CorpusStats",
    "Document",
    "iter_texts",
    "list_cards",
    "load_card",
    "open_corpus",
    "split_field",
]
