"""Grow a SentencePiece BPE model for real: new pieces in its ModelProto, learned by continuing BPE on the base
segmentation of the domain's term occurrences, and scored below every old piece.

Why below: SentencePiece BPE merges the adjacent pair whose concatenation has the highest piece score. With every
new score under every old one, all old merges run first and reproduce the base segmentation exactly; new pieces
only merge that result further. So old behaviour is untouched wherever no new piece applies, and no text can
ever encode to more tokens than before (each merge removes one). Chinese-LLaMA's score 0 does the opposite
(`vocabx.extend.sp_merge`): new pieces pre-empt old merges and all tie, so the leftmost pair wins, not the best.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import regex
from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import BPE, WordLevel

from vocabx.adapters.base import TokenizerAdapter
from vocabx.adapters.sentencepiece import SentencePieceAdapter
from vocabx.errors import TokenizerError, UsageError
from vocabx.extend.added_tokens import screen_terms
from vocabx.extend.base import Extender, Extension, NewEntry
from vocabx.extend.sp_learn import ContinuedBPE, Word
from vocabx.outputs import write_text_atomic

if TYPE_CHECKING:
    from vocabx.analyze.plan import Plan

log = logging.getLogger(__name__)

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, BYTE = 1, 2, 3, 4, 6  # sentencepiece_model.proto SentencePiece.Type


@dataclass
class SentencePieceExtender(Extender):
    """Continue BPE on the base segmentation of the domain text; new pieces rank below all old ones.

    `scope="terms"`: pieces are the terms and the intermediates they need, learned on the terms' occurrences in
    the corpus (or on the ranked terms themselves when there is no corpus). `scope="corpus"`: pieces are learned
    on all of the corpus text, so frequent phrases and punctuation-attached pieces (`吗？`) compete with terms for
    the budget; more compression, less say for the term list. See bench/results/extend_sentencepiece.md.
    """

    families = ("sentencepiece-bpe",)
    scope: Literal["terms", "corpus"] = "terms"  # what the new pieces may cover
    cross_punctuation: bool = True  # with scope="corpus": may a piece join letters and punctuation (`，建议`)?
    max_piece_chars: int = 16  # SentencePiece's own max_sentencepiece_length default
    min_frequency: int = 2  # a merge must save at least this many tokens on the corpus to be worth an id
    progress: bool = False
    mode: Literal["terms", "train"] | None = None  # the registry's name for scope: "train" means scope="corpus"

    def __post_init__(self) -> None:
        if self.mode is not None:
            self.scope = "corpus" if self.mode == "train" else "terms"
        if self.scope not in ("terms", "corpus"):
            raise UsageError(f"unknown SentencePiece scope {self.scope!r}", hint="use terms or corpus")

    def extend(
        self, base: TokenizerAdapter, terms: Sequence[str], budget: int, corpus: Sequence[str] | None = None
    ) -> Extension:
        """Add up to `budget` pieces (terms and the intermediates they need); see the module docstring."""
        sp_base = _require_bpe(base)
        spec = sp_base.proto
        kept, skipped = screen_terms(terms, lambda t: sp_base.token_to_id(sp_base.term_to_token(t)) is not None,
                                     _digits_check(spec), joins_words=lambda t: not sp_base.crosses_boundary(t))
        words = self._words(kept, corpus, spec.normalizer_spec.add_dummy_prefix)
        learner = ContinuedBPE(
            base_pieces=_piece_ranks(spec),
            max_piece_chars=self.max_piece_chars,
            forbid_digits=spec.trainer_spec.split_digits,
            min_frequency=self.min_frequency if corpus is not None else 1,
            # Multi-word terms (`blood pressure`): the encoder merges across ▁ where a piece exists. Only the terms'
            # own occurrences are learned on in this scope, so no other piece spans words.
            join_words=self.scope == "terms",
        )
        segmented, pending = _segment_words(sp_base, words)
        new_pieces = learner.learn(segmented, max(budget, 0), pending=pending, progress=self.progress)
        model_bytes = build_model(spec, new_pieces)
        extended = SentencePieceAdapter(model_bytes, name=f"{base.name}+vocabx", source=f"{base.source} (extended)")
        added, unreachable = _classify(sp_base, extended, new_pieces, set(kept))
        produced = {_term_text(e.token) for e in added if e.kind == "term"}
        skipped["unreachable"] = unreachable
        missed = produced | {_term_text(p) for p in unreachable}
        skipped["over_budget"] = [t for t in kept if t not in missed]
        notes = [
            (
                f"{len(new_pieces)} pieces learned by continued BPE (scope={self.scope}) on {sum(words.values())} "
                "weighted words, scored below every base piece: base segmentation kept wherever no new piece applies"
            ),
        ]
        if corpus is not None and self.scope == "terms":
            absent = sum(1 for t in skipped["over_budget"] if t not in words and "▁" + t not in words)
            notes.append(f"{absent} of the terms left out never occur in the corpus")
        skipped = {k: v for k, v in skipped.items() if v}
        return Extension(sp_base, extended, added, skipped, family="sentencepiece-bpe", notes=notes)

    def extend_plan(self, base: TokenizerAdapter, plan: Plan, budget: int) -> Extension:
        """The plan's first `budget` pieces in order (merges and characters' own pieces), scored below every base
        piece (a piece the model has already adds nothing)."""
        sp_base = _require_bpe(base)
        known = {p.piece for p in sp_base.proto.pieces}
        pieces: list[str] = []
        for entry in plan.entries[:budget]:  # the plan's first `budget` entries, as the analysis projected them
            if entry.piece not in known:
                known.add(entry.piece)
                pieces.append(entry.piece)
        extended = SentencePieceAdapter(build_model(sp_base.proto, pieces), name=f"{base.name}+vocabx",
                                        source=f"{base.source} (extended)")
        added, unreachable = _classify(sp_base, extended, pieces, {p for p in pieces if "\ufffd" not in p})
        notes = [f"{len(pieces)} pieces from the analysis plan, scored below every base piece"]
        skipped = {"unreachable": unreachable} if unreachable else {}
        return Extension(sp_base, extended, added, skipped, family="sentencepiece-bpe", notes=notes)

    def _words(self, terms: list[str], corpus: Sequence[str] | None, dummy_prefix: bool) -> Counter[str]:
        if corpus is None:  # no corpus: the terms themselves, weighted so that higher-ranked terms win the budget
            return Counter({t: len(terms) - i for i, t in enumerate(terms)})
        if self.scope == "terms":
            return count_term_occurrences(corpus, terms, dummy_prefix)
        return count_corpus_words(corpus, dummy_prefix, self.cross_punctuation)

    def save(self, extension: Extension, out_dir: Path) -> list[str]:
        """Write tokenizer.model, a matching tokenizer.json and the transformers config files."""
        ext = extension.extended
        assert isinstance(ext, SentencePieceAdapter)
        return save_sentencepiece(ext, Path(out_dir))


def _require_bpe(base: TokenizerAdapter) -> SentencePieceAdapter:
    if not isinstance(base, SentencePieceAdapter) or base.family != "sentencepiece-bpe":
        raise TokenizerError(
            f"{base.name} is a {base.family} tokenizer, not a SentencePiece BPE model",
            hint="pass the tokenizer.model (Llama-2, Mistral); for other families use their extender or --mode added-tokens",
        )
    return base


def _digits_check(proto):
    # The base keeps every digit a token of its own (split_digits); a piece with a digit would change that.
    split_digits = proto.trainer_spec.split_digits

    def check(term: str) -> str | None:
        return "crosses_pretoken_boundary" if split_digits and any(ch.isdigit() for ch in term) else None

    return check


def _piece_ranks(proto) -> dict[str, float]:
    """Score of every piece that BPE can merge into (normal and user-defined pieces)."""
    return {p.piece: p.score for p in proto.pieces if p.type in (NORMAL, USER_DEFINED)}


def count_term_occurrences(corpus: Sequence[str], terms: Sequence[str], dummy_prefix: bool) -> Counter[str]:
    """How often each term occurs in `corpus` (leftmost-longest, non-overlapping), keyed by its pre-token form.

    An occurrence after whitespace or at the start of a text is keyed `▁term`, since SentencePiece sees the
    `▁` there and may merge it. The scan runs in Rust: tokenizers' added-token matcher is an Aho-Corasick.
    """
    words: Counter[str] = Counter()
    if not terms:
        return words
    matcher = Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    matcher.add_tokens([AddedToken(t, normalized=False) for t in terms])
    texts = list(corpus)
    for start in range(0, len(texts), 1024):
        chunk = texts[start : start + 1024]
        for text, enc in zip(chunk, matcher.encode_batch(chunk, add_special_tokens=False)):
            for tid, (lo, hi) in zip(enc.ids, enc.offsets):
                if tid == 0:
                    continue
                spaced = text[lo - 1].isspace() if lo > 0 else dummy_prefix
                words["▁" + text[lo:hi] if spaced else text[lo:hi]] += 1
    return words


# Words for scope="corpus": whitespace-led runs; digits stand alone (the learner never merges them anyway).
_RUNS = regex.compile(r"\s*(?:[^\s\d]+|\d)")
_RUNS_NO_PUNCT = regex.compile(r"\s*(?:[^\s\d\p{P}\p{S}]+|[\p{P}\p{S}]+|\d)")


def count_corpus_words(corpus: Sequence[str], dummy_prefix: bool, cross_punctuation: bool = True) -> Counter[str]:
    """Whitespace-led runs of the corpus as pre-token words, with SentencePiece's `▁` for a leading space.

    `"头痛，怎么办 吃药"` -> `{"▁头痛，怎么办": 1, "▁吃药": 1}` (with a dummy prefix). Newlines and other
    whitespace stay as they are: the base spells them in bytes, and the learner leaves them alone.
    """
    pattern = _RUNS if cross_punctuation else _RUNS_NO_PUNCT
    words: Counter[str] = Counter()
    for text in corpus:
        first = True
        for run in pattern.findall(text):
            if first and dummy_prefix and not run[:1].isspace():
                run = " " + run
            first = False
            words[run.replace(" ", "▁")] += 1
    return words


def _segment_words(base: SentencePieceAdapter, words: Counter[str]) -> tuple[list[Word], set[str]]:
    """The base segmentation of each word, and the characters the base spells out in bytes (one symbol each)."""
    plain = _variant(base.proto, add_dummy_prefix=False)
    pieces = [plain.id_to_piece(i) for i in range(plain.get_piece_size())]
    byte_of = {i: int(pieces[i][3:5], 16) for i in range(len(pieces)) if plain.is_byte(i)}  # `<0xE7>` -> 0xE7
    keys = sorted(words)
    out: list[Word] = []
    pending_chars: set[str] = set()
    for key, ids in zip(keys, plain.encode([k.replace("▁", " ") for k in keys], num_threads=-1)):
        if not any(i in byte_of for i in ids):
            out.append(([pieces[i] for i in ids], words[key]))
            continue
        symbols: list[str] = []
        pending = b""
        for i in ids:
            if i not in byte_of:
                symbols.append(pieces[i])
                continue
            pending += bytes([byte_of[i]])
            try:
                char = pending.decode("utf-8")
            except UnicodeDecodeError:
                continue  # not a whole character yet
            symbols.append(char)
            pending_chars.add(char)
            pending = b""
        out.append((symbols, words[key]))
    return out, pending_chars


def _variant(proto, **normalizer: bool):
    """A processor for the same pieces with other normalizer flags (e.g. no dummy prefix, to encode pieces)."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    copy = pb.ModelProto()
    copy.CopyFrom(proto)
    for key, value in normalizer.items():
        setattr(copy.normalizer_spec, key, value)
    copy.normalizer_spec.remove_extra_whitespaces = False
    return spm.SentencePieceProcessor(model_proto=copy.SerializeToString())


def new_scores(proto, count: int) -> list[float]:
    """`count` strictly decreasing float32 scores, all below the lowest score of any base piece.

    Llama-2's floor is `▁▁` at -1e9, where float32 steps are 64 apart: `nextafter` keeps every score distinct.
    """
    floor = np.float32(min((p.score for p in proto.pieces if p.type == NORMAL), default=0.0))
    scores: list[float] = []
    current = floor
    for _ in range(count):
        nxt = np.float32(current - np.float32(1.0))
        current = nxt if nxt < current else np.nextafter(current, np.float32(-np.inf), dtype=np.float32)
        scores.append(float(current))
    return scores


def build_model(proto, new_pieces: Sequence[str]) -> bytes:
    """The base ModelProto with `new_pieces` appended as normal pieces, in order, with `new_scores`."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    model = pb.ModelProto()
    model.CopyFrom(proto)
    for piece, score in zip(new_pieces, new_scores(proto, len(new_pieces))):
        entry = model.pieces.add()
        entry.piece, entry.score, entry.type = piece, score, NORMAL
    return model.SerializeToString(deterministic=True)


def _term_text(piece: str) -> str:
    """The term a piece stands for: `▁blood▁pressure` -> `blood pressure`, `高血压` -> `高血压`."""
    return piece.removeprefix("▁").replace("▁", " ")


def _classify(
    base: SentencePieceAdapter, extended: SentencePieceAdapter, new_pieces: Sequence[str], terms: set[str]
) -> tuple[list[NewEntry], list[str]]:
    """NewEntry per piece; a term piece that does not encode to itself on its own is reported unreachable."""
    plain = _variant(extended.proto, add_dummy_prefix=False)
    first = base.vocab_size
    added: list[NewEntry] = []
    unreachable: list[str] = []
    # A term's piece is its text with ▁ for spaces, word-initial (`▁hypertension`, `▁blood▁pressure`) or not.
    pieces_of = {variant: t for t in terms for variant in (t.replace(" ", "▁"), "▁" + t.replace(" ", "▁"))}
    for offset, piece in enumerate(new_pieces):
        text = piece.replace("▁", " ")
        kind: Literal["term", "intermediate"] = "term" if piece in pieces_of else "intermediate"
        if kind == "term" and plain.encode(text) != [first + offset]:
            unreachable.append(piece)
            kind = "intermediate"
        added.append(NewEntry(piece, text, first + offset, kind))
    return added, unreachable


def sentencepiece_to_json(model_bytes: bytes, add_bos: bool = False, metaspace: bool = False) -> str:
    """A tokenizer.json that encodes exactly like the SentencePiece BPE model (ids, byte fallback, ▁ prefix).

    Merges are every split of every normal piece into two pieces, ranked by the merged piece's score, which is
    the order SentencePiece merges in. The normalizer mirrors `add_dummy_prefix` the way SentencePiece does
    (always, even before a leading space), which Metaspace's prepend scheme does not. `metaspace=True` uses the
    Metaspace pre-tokenizer instead, for pipelines that will carry added tokens (see `added_tokens`).
    Control pieces (`<s>`, Mistral's `[INST]`) become special added tokens, as transformers' converter makes them:
    they then match their literal text, which raw sentencepiece never does (the one known disagreement).
    """
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.ParseFromString(model_bytes)
    vocab = {p.piece: i for i, p in enumerate(proto.pieces)}
    unk = proto.pieces[proto.trainer_spec.unk_id].piece
    tok = Tokenizer(
        BPE(vocab=vocab, merges=_merges(proto, vocab), unk_token=unk, fuse_unk=True,
            byte_fallback=proto.trainer_spec.byte_fallback)
    )
    dummy = proto.normalizer_spec.add_dummy_prefix
    tok.normalizer = _normalizer(proto.normalizer_spec, prepend=dummy and not metaspace)
    tok.pre_tokenizer = (
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first" if dummy else "never", split=False)
        if metaspace else None
    )
    tok.decoder = _decoder(proto.normalizer_spec.add_dummy_prefix)
    specials = [AddedToken(p.piece, special=True, normalized=False) for p in proto.pieces if p.type in (UNKNOWN, CONTROL)]
    users = [AddedToken(p.piece, special=False, normalized=False) for p in proto.pieces if p.type == USER_DEFINED]
    tok.add_special_tokens(specials)
    tok.add_tokens(users)
    bos = proto.trainer_spec.bos_id
    if add_bos and 0 <= bos < len(proto.pieces):  # what transformers' Llama tokenizer adds (add_bos_token)
        piece = proto.pieces[bos].piece
        tok.post_processor = processors.TemplateProcessing(
            single=f"{piece} $A", pair=f"{piece} $A {piece} $B", special_tokens=[(piece, bos)]
        )
    return tok.to_str()


def _merges(proto, vocab: dict[str, int]) -> list[tuple[str, str]]:
    ranked: list[tuple[float, int, int, int, str, str]] = []
    for i, p in enumerate(proto.pieces):
        if p.type != NORMAL or len(p.piece) < 2:
            continue
        for cut in range(1, len(p.piece)):
            left, right = p.piece[:cut], p.piece[cut:]
            if left in vocab and right in vocab:
                ranked.append((-p.score, i, vocab[left], vocab[right], left, right))
    ranked.sort()
    return [(left, right) for *_, left, right in ranked]


def _normalizer(spec, prepend: bool) -> normalizers.Normalizer | None:
    steps: list[normalizers.Normalizer] = []
    if spec.precompiled_charsmap:
        steps.append(normalizers.Precompiled(spec.precompiled_charsmap))
    if spec.remove_extra_whitespaces:
        steps += [normalizers.Replace(Regex(r"^ +| +$"), ""), normalizers.Replace(Regex(" {2,}"), " ")]
    if prepend:
        steps.append(normalizers.Prepend("▁"))
    steps.append(normalizers.Replace(" ", "▁"))
    return normalizers.Sequence(steps)


def _decoder(dummy_prefix: bool) -> decoders.Decoder:
    steps = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    if dummy_prefix:
        steps.append(decoders.Strip(content=" ", left=1, right=0))
    return decoders.Sequence(steps)


def write_transformers_configs(proto, out_dir: Path, spec: dict) -> list[str]:
    """tokenizer_config.json and special_tokens_map.json for transformers' Llama tokenizer classes."""
    ts = proto.trainer_spec
    special = {"bos_token": _piece(proto, ts.bos_id), "eos_token": _piece(proto, ts.eos_id), "unk_token": _piece(proto, ts.unk_id)}
    special = {k: v for k, v in special.items() if v is not None}
    config = {
        # Not "LlamaTokenizer": transformers 5 rebuilds that class's pipeline with a Metaspace pre-tokenizer,
        # which drops SentencePiece's dummy prefix before a leading space (" x" -> "▁x", not "▁▁x"); the same
        # override of tokenizer.json breaks byte-level vocabularies:
        # https://github.com/huggingface/transformers/issues/45488. The generic fast class loads tokenizer.json
        # verbatim, so ids match raw sentencepiece exactly.
        "tokenizer_class": "PreTrainedTokenizerFast",
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1_000_000_000_000_000_019_884_624_838_656,
        **special,
    }
    write_text_atomic(out_dir / "tokenizer_config.json", json.dumps(config, ensure_ascii=False, indent=2) + "\n")
    write_text_atomic(out_dir / "special_tokens_map.json", json.dumps(special, ensure_ascii=False, indent=2) + "\n")
    return ["special_tokens_map.json", "tokenizer_config.json"]


def _piece(proto, index: int) -> str | None:
    return proto.pieces[index].piece if 0 <= index < len(proto.pieces) else None


def save_sentencepiece(adapter: SentencePieceAdapter, out_dir: Path) -> list[str]:
    """tokenizer.model, tokenizer.json (with a BOS post-processor, as transformers' Llama does) and configs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tokenizer.model").write_bytes(adapter.model_bytes)
    spec = json.loads(sentencepiece_to_json(adapter.model_bytes, add_bos=True))
    write_text_atomic(out_dir / "tokenizer.json", json.dumps(spec, ensure_ascii=False, indent=2) + "\n")
    return sorted(["tokenizer.model", "tokenizer.json", *write_transformers_configs(adapter.proto, out_dir, spec)])
