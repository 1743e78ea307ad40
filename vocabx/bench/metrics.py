"""Per-pair measurements: how many tokens one tokenizer spends on one corpus, and whether it round-trips.

Counts are exact sums over documents, each encoded on its own without special tokens (no BOS/EOS), so every
tokenizer is charged only for the text. Ratios against the reference tokenizer are filled in by `relate`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from vocabx.adapters.base import TokenizerAdapter
from vocabx.bench.words import count_words, han_chars

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CorpusSample:
    """The texts of one corpus as benchmarked (after `max_chars`), with the counts every tokenizer shares."""

    label: str
    spec: str
    texts: tuple[str, ...]
    sources: tuple[str, ...]
    chars: int
    bytes: int
    words: int
    han_chars: int
    segmenter: str
    """How words were counted: `jieba-kernel`/`rjieba`/`jieba` for a Chinese corpus, `unicode-words` otherwise."""

    @classmethod
    def from_texts(cls, label: str, spec: str, texts: Sequence[str], sources: Sequence[str] | None = None) -> CorpusSample:
        """Count characters, UTF-8 bytes, words and Han characters once per corpus (empty documents dropped)."""
        pairs = [(t, s) for t, s in zip(texts, sources or [f"{label}[{i}]" for i in range(len(texts))]) if t]
        kept = tuple(t for t, _ in pairs)
        words = count_words(kept)
        return cls(
            label=label,
            spec=spec,
            texts=kept,
            sources=tuple(s for _, s in pairs),
            chars=sum(len(t) for t in kept),
            bytes=sum(len(t.encode("utf-8")) for t in kept),
            words=words.words,
            han_chars=sum(han_chars(t) for t in kept),
            segmenter=words.segmenter,
        )

    @property
    def documents(self) -> int:
        return len(self.texts)


@dataclass
class PairMetrics:
    """One tokenizer on one corpus. Ratios are None where their denominator is zero."""

    tokenizer: str
    corpus: str
    documents: int
    chars: int
    bytes: int
    words: int
    tokens: int
    chars_per_token: float | None
    bytes_per_token: float | None
    tokens_per_char: float | None
    tokens_per_word: float | None
    roundtrip_ok: int
    """Documents with `decode(encode(x)) == x` exactly."""
    roundtrip_share: float
    roundtrip_first_failure: str | None
    """Source of the first document that did not round-trip (lossy by design for WordPiece: reported, not fatal)."""
    normalized_length: float | None = None
    """tokens / reference tokens on the same corpus: below 1.0 means shorter sequences than the reference."""
    context_gain: float | None = None
    """chars per token / reference chars per token: how much more text fits in the same context window."""
    chars_per_window: float | None = None
    """Characters that fit in a window of `context` tokens (context x chars per token)."""
    single_mb_s: float | None = None
    """Encode throughput, one document at a time on one thread (MB of UTF-8 input per second, best run)."""
    batch_mb_s: float | None = None
    """Encode throughput with the backend's parallel batch encoder on all cores (best run)."""
    extra: dict[str, float | int | str | None] = field(default_factory=dict)
    """Columns merged in from elsewhere, e.g. model-level figures from `vocabx eval`."""


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def measure(tokenizer: str, adapter: TokenizerAdapter, corpus: CorpusSample) -> PairMetrics:
    """Encode every document once, count tokens, and check the decode round trip document by document."""
    tokens = 0
    ok = 0
    first_failure: str | None = None
    for text, source in zip(corpus.texts, corpus.sources):
        ids = adapter.encode(text)
        tokens += len(ids)
        if adapter.decode(ids) == text:
            ok += 1
        elif first_failure is None:
            first_failure = source
    if first_failure is not None:
        log.info("%s on %s: %d of %d documents do not round-trip (first: %s)",
                 tokenizer, corpus.label, corpus.documents - ok, corpus.documents, first_failure)
    return PairMetrics(
        tokenizer=tokenizer,
        corpus=corpus.label,
        documents=corpus.documents,
        chars=corpus.chars,
        bytes=corpus.bytes,
        words=corpus.words,
        tokens=tokens,
        chars_per_token=_ratio(corpus.chars, tokens),
        bytes_per_token=_ratio(corpus.bytes, tokens),
        tokens_per_char=_ratio(tokens, corpus.chars),
        tokens_per_word=_ratio(tokens, corpus.words),
        roundtrip_ok=ok,
        roundtrip_share=ok / corpus.documents if corpus.documents else 1.0,
        roundtrip_first_failure=first_failure,
    )


def relate(row: PairMetrics, reference: PairMetrics, context: int) -> None:
    """Fill the reference-relative columns of `row` (the reference row itself gets 1.0)."""
    row.normalized_length = _ratio(row.tokens, reference.tokens)
    if row.chars_per_token is not None and reference.chars_per_token:
        row.context_gain = row.chars_per_token / reference.chars_per_token
    row.chars_per_window = context * row.chars_per_token if row.chars_per_token is not None else None
