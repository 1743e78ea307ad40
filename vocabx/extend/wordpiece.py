"""Grow a WordPiece vocabulary (BERT `vocab.txt` + `tokenizer.json`) with multi-character Chinese entries.

BERT's normalizer (`handle_chinese_chars`) puts every CJK character in a word of its own, so an entry such as
`高血压` can never match. The extended pipeline instead keeps runs of CJK characters together as one word, and
WordPiece's greedy longest-match does the rest: `高血压` matches at the start of a run, `##高血压` inside one.
Which characters may join a run is the trade-off: only characters that have BOTH a word-initial and a `##`
entry, so that greedy matching can always fall back to one token per character; every other CJK character is
still isolated exactly as before. Hence, on CJK text no word gets longer than BERT's one-token-per-character,
and non-CJK text is pre-tokenized exactly as before (BertPreTokenizer, same normalizer flags). Cost: a term
needs two entries to be found both at a run's start and in its middle; the corpus decides which forms pay.
Caveat: transformers' `BertTokenizer(vocab.txt)` rebuilds BERT's own pipeline, so only tokenizer.json (loaded
as `PreTrainedTokenizerFast`) tokenizes like the extension; `vocab.txt` is written for ids and tools.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vocabx.adapters.base import TokenizerAdapter
from vocabx.adapters.hf import HFTokenizerAdapter
from vocabx.errors import TokenizerError
from vocabx.extend.added_tokens import screen_terms
from vocabx.extend.base import Extender, Extension, NewEntry
from vocabx.outputs import write_text_atomic

log = logging.getLogger(__name__)

# The code points BERT's `_is_chinese_char` treats as CJK (google-research/bert tokenization.py).
CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)
MAX_RUN = 64  # longest CJK run kept as one word: WordPiece's greedy match is quadratic in the word's length


def is_cjk(ch: str) -> bool:
    return any(lo <= ord(ch) <= hi for lo, hi in CJK_RANGES)


@dataclass
class WordPieceExtender(Extender):
    """Add CJK terms as `term` (run-initial) and `##term` (inside a run) entries; Latin terms as words."""

    families = ("wordpiece",)
    progress: bool = False

    def extend(
        self, base: TokenizerAdapter, terms: Sequence[str], budget: int, corpus: Sequence[str] | None = None
    ) -> Extension:
        """Choose the entry forms that save most on `corpus` (or follow term rank without one) up to `budget`."""
        if not isinstance(base, HFTokenizerAdapter) or base.family != "wordpiece":
            raise TokenizerError(
                f"{base.name} is a {base.family} tokenizer, not WordPiece",
                hint="pass a BERT vocab.txt or a WordPiece tokenizer.json",
            )
        spec = json.loads(base.json_text)
        vocab: dict[str, int] = spec["model"]["vocab"]
        probe = HFTokenizerAdapter(json.dumps(_pipeline(spec, vocab, [])), base.name, base.source)
        forms, skipped = self._candidates(probe, vocab, terms)
        chosen = self._choose(probe, spec, vocab, forms, budget, corpus)
        entries = [form for form, _ in chosen]
        extended = HFTokenizerAdapter(
            json.dumps(_pipeline(spec, vocab, entries), ensure_ascii=False), f"{base.name}+vocabx", f"{base.source} (extended)"
        )
        first = max(vocab.values()) + 1
        added = [
            NewEntry(form, term, first + k, "term" if form == _normalize(probe, term) else "intermediate")
            for k, (form, term) in enumerate(chosen)
        ]
        has_entry = {e.text for e in added}
        skipped["over_budget"] = [t for t in forms if t not in has_entry]
        notes = [
            (
                "CJK runs of characters with both X and ##X entries are kept together (handle_chinese_chars off); "
                "`##term` entries are the in-run forms, reported as intermediates"
            ),
        ]
        skipped = {k: v for k, v in skipped.items() if v}
        return Extension(base, extended, added, skipped, family="wordpiece", notes=notes)

    def _candidates(
        self, probe: HFTokenizerAdapter, vocab: dict[str, int], terms: Sequence[str]
    ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """Term -> its candidate entry forms, in preference order; and the skips."""

        def problem(term: str) -> str | None:
            norm = _normalize(probe, term)
            if any(is_cjk(ch) and not (ch in vocab and "##" + ch in vocab) for ch in norm):
                return "unreachable"  # a character without both entries is isolated, so it cannot join a run
            if len(probe.pretokenize(term)) != 1 or not norm:
                return "crosses_pretoken_boundary"
            return None

        kept, skipped = screen_terms(terms, lambda t: _normalize(probe, t) in vocab, problem)
        forms: dict[str, list[str]] = {}
        seen: set[str] = set()
        for term in kept:
            norm = _normalize(probe, term)
            if norm in seen:  # `Aspirin` and `aspirin` are one entry once lowercased
                skipped.setdefault("duplicate", []).append(term)
                continue
            seen.add(norm)
            forms[term] = [norm, "##" + norm] if all(is_cjk(ch) for ch in norm) else [norm]
        return forms, skipped

    def _choose(
        self,
        probe: HFTokenizerAdapter,
        spec: dict[str, Any],
        vocab: dict[str, int],
        forms: dict[str, list[str]],
        budget: int,
        corpus: Sequence[str] | None,
    ) -> list[tuple[str, str]]:
        """(entry, term) pairs in id order: by tokens saved on the corpus, else by term rank."""
        ranked = [(form, term) for term, fs in forms.items() for form in fs]
        if corpus is None:
            return ranked[: max(budget, 0)]
        # Tokenize the corpus with every candidate present; an entry's use count times the tokens it replaces
        # (one per CJK character; its base length for a Latin word) is what it would save.
        everything = HFTokenizerAdapter(json.dumps(_pipeline(spec, vocab, [f for f, _ in ranked])), "probe", "probe")
        uses: Counter[int] = Counter(i for ids in everything.encode_batch(list(corpus)) for i in ids)
        first = max(vocab.values()) + 1

        def saved(k: int, form: str) -> int:
            body = form.removeprefix("##")
            size = len(body) if all(is_cjk(ch) for ch in body) else len(probe.encode(body))
            return uses[first + k] * (size - 1)

        gains = [(saved(k, form), k) for k, (form, _) in enumerate(ranked)]
        best = sorted((g for g in gains if g[0] > 0), key=lambda g: (-g[0], g[1]))[: max(budget, 0)]
        return [ranked[k] for _, k in sorted(best, key=lambda g: (-g[0], g[1]))]

    def save(self, extension: Extension, out_dir: Path) -> list[str]:
        """tokenizer.json (the real pipeline), vocab.txt (old lines + new entries) and transformers configs."""
        ext = extension.extended
        assert isinstance(ext, HFTokenizerAdapter)
        out_dir = Path(out_dir)
        spec = json.loads(ext.json_text)
        vocab = spec["model"]["vocab"]
        write_text_atomic(out_dir / "tokenizer.json", json.dumps(spec, ensure_ascii=False, indent=2) + "\n")
        by_id = {i: t for t, i in vocab.items()}
        # A gap (an id no string maps to, e.g. a duplicated line in the source vocab.txt) keeps its line.
        lines = [by_id.get(i, f"[unused-{i}]") for i in range(max(by_id) + 1)]
        write_text_atomic(out_dir / "vocab.txt", "\n".join(lines) + "\n")
        specials = {k: v for k, v in _SPECIALS.items() if v in vocab}
        config = {"tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False, **specials}
        write_text_atomic(out_dir / "tokenizer_config.json", json.dumps(config, indent=2) + "\n")
        write_text_atomic(out_dir / "special_tokens_map.json", json.dumps(specials, indent=2) + "\n")
        return ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]


_SPECIALS = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}


def _normalize(adapter: HFTokenizerAdapter, text: str) -> str:
    normalizer = adapter.tokenizer.normalizer
    return normalizer.normalize_str(text) if normalizer is not None else text


def _pipeline(spec: dict[str, Any], vocab: dict[str, int], entries: Sequence[str]) -> dict[str, Any]:
    """The base tokenizer.json with `entries` appended and CJK runs of joinable characters kept together."""
    out = json.loads(json.dumps(spec))
    new_vocab = dict(vocab)
    next_id = max(vocab.values(), default=-1) + 1  # new ids follow the highest old id, as check_ids expects
    for entry in entries:
        if entry not in new_vocab:
            new_vocab[entry] = next_id
            next_id += 1
    out["model"]["vocab"] = new_vocab
    for node in _nodes(out.get("normalizer")):
        if node.get("type") == "BertNormalizer":
            node["handle_chinese_chars"] = False
    joinable = sorted(ch for ch in new_vocab if len(ch) == 1 and is_cjk(ch) and "##" + ch in new_vocab)
    cjk = "".join(f"{_esc(lo)}-{_esc(hi)}" for lo, hi in CJK_RANGES)
    pattern = f"[{_char_class(joinable)}]{{1,{MAX_RUN}}}|[{cjk}]" if joinable else f"[{cjk}]"
    split = {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}
    old = out.get("pre_tokenizer")
    out["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [old, split] if old else [split]}
    return out


def _nodes(node: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not node:
        return []
    return [node, *(n for child in node.get("normalizers", []) for n in _nodes(child))]


def _esc(code: int) -> str:
    return f"\\x{{{code:X}}}"  # Oniguruma's code point escape


def _char_class(chars: Sequence[str]) -> str:
    """`['一', '丁', '七', '丈']` -> consecutive code points folded into ranges."""
    codes = sorted(ord(c) for c in chars)
    parts: list[str] = []
    start = prev = codes[0]
    for code in [*codes[1:], -1]:
        if code == prev + 1:
            prev = code
            continue
        parts.append(_esc(start) if start == prev else f"{_esc(start)}-{_esc(prev)}")
        start = prev = code
    return "".join(parts)
