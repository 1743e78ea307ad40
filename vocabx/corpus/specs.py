"""Spec resolution: what a corpus argument names (card, dataset, file, directory, glob), decided before reading.

Order: `card:NAME`, `hf:ID`, an existing local path or a glob, a bare card name, an `org/name` dataset id.
A local path wins over a card or dataset of the same name.
"""

from __future__ import annotations

from typing import Any

from vocabx.corpus.cards import CARD_PREFIX, card_source, list_cards, load_card
from vocabx.corpus.formats import SUPPORTED
from vocabx.corpus.hub import HUB_PREFIX, hub_source, parse_hub_spec
from vocabx.corpus.sources import Source, local_source
from vocabx.errors import CorpusError


def split_field(spec: str) -> tuple[str, str | None]:
    """`SPEC#FIELD` -> (SPEC, FIELD). A spec that names an existing path is that path, `#` and all; otherwise the
    text after the last `#` is the field: `gen#1.txt` (a file) -> (`gen#1.txt`, None); `gen#1.txt#text` -> (`gen#1.txt`,
    `text`); `tnews.json#sentence` -> (`tnews.json`, `sentence`)."""
    from pathlib import Path

    if "#" not in spec or Path(spec).expanduser().exists():
        return spec, None
    path, field = spec.rsplit("#", 1)
    return path, field or None


def resolve_input(name: str) -> Source:
    """The source behind one input as written, `SPEC#FIELD` included: that source reads its text from FIELD, over
    any `--text-field` (a card passes FIELD to the file or dataset behind it)."""
    spec, field = split_field(name)
    source = resolve_spec(spec)
    if field is not None:
        target: Any = getattr(source, "inner", source)  # a file source, a dataset, or a card's
        target.text_field = field
    return source


def resolve_spec(spec: str) -> Source:
    """The source behind one spec, checked now: missing paths, empty directories and unknown cards raise here."""
    if not spec.strip():
        raise CorpusError("empty corpus spec ''", hint="pass a file, directory, glob, hf:org/name or a card name")
    if spec.startswith(CARD_PREFIX):
        return card_source(load_card(spec), spec)
    if spec.startswith(HUB_PREFIX):
        return parse_hub_spec(spec).open()
    local = local_source(spec)
    if local is not None:
        return local
    cards = {card.name: card for card in list_cards()}
    if spec in cards:
        return card_source(cards[spec], spec)
    hub = hub_source(spec)
    if hub is not None:
        return hub.open()
    raise CorpusError(
        f"corpus {spec!r} is not a file, directory, glob, corpus card or dataset id",
        hint=(
            f"check the path (vocabx reads {SUPPORTED}); known cards: {', '.join(cards) or '(none)'}; "
            "Hugging Face datasets are written hf:org/name[:config][@split]"
        ),
    )
