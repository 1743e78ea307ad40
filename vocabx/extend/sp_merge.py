"""The baseline: merge another SentencePiece model's pieces into a base model exactly as Chinese-LLaMA's
`scripts/merge_tokenizer/merge_tokenizers.py` does (ymcui/Chinese-LLaMA-Alpaca).

That script appends every donor piece the base lacks, in donor order, as a normal piece with score 0 and no
other change: the donor's scores are thrown away, every new piece outranks every base piece (Llama's scores are
negative), all new pieces tie (so SentencePiece merges the leftmost available pair, not the most useful one),
and no intermediate is added, so a new piece whose halves are not pieces is never produced. Llama-2 (32,000)
merged with the 20,000-piece Chinese model gives 49,953 pieces. Kept here as the named baseline and as an
explicit `--mode merge` for anyone who wants the published recipe; `SentencePieceExtender` is the fix.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from vocabx.adapters.base import TokenizerAdapter
from vocabx.adapters.sentencepiece import SentencePieceAdapter
from vocabx.errors import TokenizerError
from vocabx.extend.base import Extender, Extension, NewEntry
from vocabx.extend.sentencepiece import NORMAL, _variant, save_sentencepiece

log = logging.getLogger(__name__)


def merge_pieces(base_model: bytes, pieces: Sequence[str]) -> tuple[bytes, list[str]]:
    """Append each of `pieces` not already in the base with score 0, as the Chinese-LLaMA script does.

    Returns the new model bytes and the pieces actually appended, in id order. Like the script, the set of
    base pieces is taken once, before the loop (the donor's pieces are unique, so that changes nothing there).
    """
    from sentencepiece import sentencepiece_model_pb2 as pb

    model = pb.ModelProto()
    model.ParseFromString(base_model)
    existing = {p.piece for p in model.pieces}
    appended: list[str] = []
    for piece in pieces:
        if piece in existing:
            continue
        entry = pb.ModelProto().SentencePiece()
        entry.piece = piece
        entry.score = 0
        model.pieces.append(entry)
        appended.append(piece)
    return model.SerializeToString(deterministic=True), appended


def merge_models(base_model: bytes, donor_model: bytes) -> tuple[bytes, list[str]]:
    """Merge every piece of `donor_model` (in its order) into `base_model`: the Chinese-LLaMA tokenizer recipe."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    donor = pb.ModelProto()
    donor.ParseFromString(donor_model)
    return merge_pieces(base_model, [p.piece for p in donor.pieces])


class SentencePieceMergeExtender(Extender):
    """Chinese-LLaMA-style: terms (or a donor model's pieces) appended with score 0, no intermediates."""

    families = ("sentencepiece-bpe",)

    def __init__(self, donor: str | Path | None = None) -> None:
        self.donor = Path(donor) if donor is not None else None

    def extend(
        self, base: TokenizerAdapter, terms: Sequence[str], budget: int, corpus: Sequence[str] | None = None
    ) -> Extension:
        """Append `terms` (or, with a donor model, the donor's pieces) until `budget`; report what never fires."""
        if not isinstance(base, SentencePieceAdapter) or base.family != "sentencepiece-bpe":
            raise TokenizerError(
                f"{base.name} is a {base.family} tokenizer; the SentencePiece merge needs a SentencePiece BPE model",
                hint="pass a tokenizer.model such as Llama-2's",
            )
        candidates = [base.term_to_token(t) for t in terms]
        if self.donor is not None:
            donor = SentencePieceAdapter.from_file(self.donor)
            candidates = [p.piece for p in donor.proto.pieces if p.type == NORMAL]
        model, appended = merge_pieces(base.model_bytes, candidates)
        skipped: dict[str, list[str]] = {}
        if len(appended) > budget:
            skipped["over_budget"] = appended[budget:]
            model, appended = merge_pieces(base.model_bytes, appended[: max(budget, 0)])
        extended = SentencePieceAdapter(model, name=f"{base.name}+merge", source=f"{base.source} (merged, score 0)")
        added = [NewEntry(p, p.replace("▁", " "), base.vocab_size + i, "term") for i, p in enumerate(appended)]
        # A piece is produced for its own text in running text (no dummy prefix) only if its halves are reachable.
        plain = _variant(extended.proto, add_dummy_prefix=False)
        never = [e.token for e, ids in zip(added, plain.encode([e.text for e in added])) if ids != [e.id]]
        notes = [f"Chinese-LLaMA merge: {len(appended)} pieces appended with score 0 (they outrank every base piece)"]
        if never:
            notes.append(f"{len(never)} appended pieces are not produced for their own text (no intermediates)")
        return Extension(base, extended, added, skipped, family="sentencepiece-bpe", notes=notes)

    def save(self, extension: Extension, out_dir: Path) -> list[str]:
        assert isinstance(extension.extended, SentencePieceAdapter)
        return save_sentencepiece(extension.extended, Path(out_dir))
