"""The held-out split of the demo: every Nth document of a corpus (index % N == 0) is held out from analysis,
extension and training and used only by eval and bench; both parts are written as JSONL files (`{"text": ...}`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vocabx.errors import CorpusError

log = logging.getLogger(__name__)

TEXT_FIELD = "text"  # the key of the split files, which every later stage is told to read


@dataclass
class Split:
    """One corpus split in two: where each part was written and what it holds."""

    name: str
    train: Path
    heldout: Path
    train_docs: int
    heldout_docs: int
    train_chars: int
    heldout_chars: int
    sources: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "train": self.train.name, "heldout": self.heldout.name,
                "train_docs": self.train_docs, "heldout_docs": self.heldout_docs,
                "train_chars": self.train_chars, "heldout_chars": self.heldout_chars, "sources": self.sources}


def is_heldout(index: int, every: int) -> bool:
    """The hold-out rule, by document index: `[is_heldout(i, 3) for i in range(4)] -> [True, False, False, True]`."""
    return index % every == 0


def split_corpus(
    name: str, specs: Sequence[str], directory: Path, *, every: int, text_field: str | None = None,
    max_chars: int | None = None, field_flag: str = "--text-field {}",
) -> Split:
    """Read `specs` once, in order, and write `NAME-train.jsonl` and `NAME-heldout.jsonl` into `directory`."""
    from vocabx.corpus import CorpusConfig, open_corpus

    flags = (("text_field", field_flag), ("max_chars", "--max-chars {}"))
    corpus = open_corpus(list(specs), CorpusConfig(text_field=text_field, max_chars=max_chars, flags=flags))
    paths = {part: directory / f"{name}-{part}.jsonl" for part in ("train", "heldout")}
    docs = {part: 0 for part in paths}
    chars = {part: 0 for part in paths}
    handles = {part: path.open("w", encoding="utf-8") for part, path in paths.items()}
    try:
        for index, text in enumerate(corpus.texts()):
            part = "heldout" if is_heldout(index, every) else "train"
            handles[part].write(json.dumps({TEXT_FIELD: text}, ensure_ascii=False) + "\n")
            docs[part] += 1
            chars[part] += len(text)
    finally:
        for handle in handles.values():
            handle.close()
    if docs["train"] == 0 or docs["heldout"] == 0:
        raise CorpusError(
            f"{name} corpus {', '.join(specs)} has {sum(docs.values())} document(s): too few to hold out every "
            f"{every}th and train on the rest", hint="pass a larger corpus, or a smaller --holdout-every")
    log.info("%s: %d training and %d held-out documents", name, docs["train"], docs["heldout"])
    return Split(name, paths["train"], paths["heldout"], docs["train"], docs["heldout"], chars["train"],
                 chars["heldout"], corpus.describe())
