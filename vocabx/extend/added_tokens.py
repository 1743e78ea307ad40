"""The explicit fallback: terms as `added_tokens` of a tokenizer.json, for any family; plus the term screening
that every vocabx extender in this package shares.

Added tokens are not vocabulary in the model's sense, and they come with pitfalls that real extension avoids:

- They are cut out of the text by a leftmost-longest string match before the model runs, so they fire inside
  other words (`ten` in `Hypertension`, `压` inside a longer Chinese word) and the text either side is
  tokenized as two separate strings: the pieces there can differ from the base (never-longer is not
  guaranteed). A SentencePiece model's dummy prefix `▁` must then come from a Metaspace pre-tokenizer that adds
  it to the first segment only (a normalizer would add it after every match: "冠心病。" -> " 。"); Metaspace
  skips it when the text already starts with a space, so a text with a leading space loses that space on
  decode and is tokenized unlike raw sentencepiece (the same quirk as transformers' Llama fast tokenizer).
- The model side has no merges that produce them, so their embeddings have no compositional path and nothing
  else in the vocabulary is ever built from them.
- `tokenizer.model` (SentencePiece) does not know them: only the fast tokenizer.json and transformers'
  added-token trie do. Raw `sentencepiece` disagrees with the fast tokenizer on every text containing them.
- Matching ignores word boundaries; for WordPiece it is on raw text, so the normalizer's lowercasing does
  not apply to it; decode can drop or add spaces around them depending on `lstrip`/`rstrip` and the decoder.
Use it when the family has no real extender, or to compare; `vocabx extend` only does it when asked.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

from tokenizers import AddedToken, Tokenizer

from vocabx.adapters.base import TokenizerAdapter
from vocabx.adapters.hf import HFTokenizerAdapter
from vocabx.errors import TokenizerError
from vocabx.extend.base import Extender, Extension, NewEntry
from vocabx.outputs import write_text_atomic

log = logging.getLogger(__name__)

_BAD_CATEGORIES = {"Cc", "Cs", "Cn"}  # control, lone surrogate, unassigned: nothing a vocabulary should hold


def screen_terms(
    terms: Sequence[str],
    is_present: Callable[[str], bool],
    extra: Callable[[str], str | None] | None = None,
    joins_words: Callable[[str], bool] | None = None,
) -> tuple[list[str], dict[str, list[str]]]:
    """Split `terms` into the usable ones (input order kept) and skips by reason.

    `["高血压", "", "高血压", "a b"]` -> `(["高血压"], {"invalid": [""], "duplicate": ["高血压"],
    "crosses_pretoken_boundary": ["a b"]})`. `extra` may name a family-specific reason for one term;
    `joins_words(term)` says whether one token of the family can cover words joined by spaces (default: never).
    """
    kept: list[str] = []
    skipped: dict[str, list[str]] = {}
    seen: set[str] = set()
    for term in terms:
        reason = _reason(term, seen, is_present, extra, joins_words)
        if reason is None:
            kept.append(term)
            seen.add(term)
        else:
            skipped.setdefault(reason, []).append(term)
    return kept, skipped


def _reason(
    term: str, seen: set[str], is_present: Callable[[str], bool], extra: Callable[[str], str | None] | None,
    joins_words: Callable[[str], bool] | None = None,
) -> str | None:
    if not isinstance(term, str) or not term or term != term.strip():
        return "invalid"
    if any(unicodedata.category(ch) in _BAD_CATEGORIES for ch in term):
        return "invalid"
    if any(ch.isspace() for ch in term) and (joins_words is None or not joins_words(term)):
        return "crosses_pretoken_boundary"
    if term in seen:
        return "duplicate"
    if is_present(term):
        return "already_present"
    return extra(term) if extra is not None else None


def tokenizer_json_of(base: TokenizerAdapter) -> str:
    """The tokenizer.json text of any adapter vocabx can extend (SentencePiece models are converted)."""
    if isinstance(base, HFTokenizerAdapter):
        return base.json_text
    from vocabx.adapters.sentencepiece import SentencePieceAdapter

    if isinstance(base, SentencePieceAdapter):
        from vocabx.extend.sentencepiece import sentencepiece_to_json

        return sentencepiece_to_json(base.model_bytes, metaspace=True)
    raise TokenizerError(
        f"added-tokens mode cannot rewrite a {type(base).__name__} ({base.family})",
        hint="load the tokenizer from a tokenizer.json, a SentencePiece .model or a vocab.txt",
    )


class AddedTokensExtender(Extender):
    """Append terms as non-special, un-normalized added tokens; see the module docstring for the pitfalls."""

    families = ("bytelevel-bpe", "sentencepiece-bpe", "sentencepiece-unigram", "hf-bpe", "wordpiece", "unigram")

    def extend(
        self, base: TokenizerAdapter, terms: Sequence[str], budget: int, corpus: Sequence[str] | None = None
    ) -> Extension:
        # A term that already encodes to one token gains nothing from an added token.
        kept, skipped = screen_terms(terms, lambda t: base.token_to_id(t) is not None or len(base.encode(t)) == 1)
        if len(kept) > budget:
            skipped.setdefault("over_budget", []).extend(kept[budget:])
            kept = kept[: max(budget, 0)]
        tok = Tokenizer.from_str(tokenizer_json_of(base))
        first = tok.get_vocab_size(with_added_tokens=True)
        tok.add_tokens([AddedToken(t, normalized=False, special=False) for t in kept])
        extended = HFTokenizerAdapter(tok.to_str(), name=f"{base.name}+added", source=f"{base.source} (added tokens)")
        added = [NewEntry(t, t, extended.token_to_id(t) or first + i, "term") for i, t in enumerate(kept)]
        notes = ["added as added_tokens (fallback mode): matched in raw text before normalization, no merges"]
        return Extension(base, extended, added, skipped, family="added-tokens", notes=notes)

    def save(self, extension: Extension, out_dir: Path) -> list[str]:
        """Write tokenizer.json plus the transformers config files; a SentencePiece base keeps its .model too."""
        out_dir = Path(out_dir)
        ext = extension.extended
        assert isinstance(ext, HFTokenizerAdapter)
        spec = json.loads(ext.json_text)
        write_text_atomic(out_dir / "tokenizer.json", json.dumps(spec, ensure_ascii=False, indent=2) + "\n")
        written = ["tokenizer.json"]
        from vocabx.adapters.sentencepiece import SentencePieceAdapter

        if isinstance(extension.base, SentencePieceAdapter):
            from vocabx.extend.sentencepiece import write_transformers_configs

            (out_dir / "tokenizer.model").write_bytes(extension.base.model_bytes)
            written += ["tokenizer.model", *write_transformers_configs(extension.base.proto, out_dir, spec)]
        else:
            config = {"tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False}
            write_text_atomic(out_dir / "tokenizer_config.json", json.dumps(config, indent=2) + "\n")
            written.append("tokenizer_config.json")
        return sorted(written)
