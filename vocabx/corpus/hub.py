"""Hugging Face datasets as corpus sources, always streamed: `hf:org/name[:config][@split]`, or a local dataset.

A local directory after `hf:` goes through the same code: `save_to_disk` output via `load_from_disk`, a folder
of data files via `load_dataset(folder)`. Loading happens when the spec is resolved, so a wrong id or a
missing network fails before any work starts.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vocabx.corpus.config import CorpusConfig
from vocabx.corpus.document import CorpusStats, Document
from vocabx.corpus.fields import RecordTexts
from vocabx.corpus.formats import EXTENSIONS
from vocabx.errors import CorpusError, require
from vocabx.outputs import describe_input

log = logging.getLogger(__name__)

HUB_PREFIX = "hf:"
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+(:[\w.-]+)?(@[\w.:%+\[\]-]+)?")  # org/name[:config][@split]
DEFAULT_SPLIT = "train"
BUILDERS = {".json": "json", ".jsonl": "json", ".parquet": "parquet", ".csv": "csv", ".txt": "text"}
NETWORK_HINT = (
    "check the dataset id, config and split on huggingface.co; reading it needs network access. Offline, "
    "set HF_HUB_OFFLINE=1 to use a cached copy (and to fail fast), or pass local files instead"
)


@dataclass
class HubSource:
    """A streamed Hugging Face dataset split; `data_files` reads files of a hub repo without its loading script."""

    spec: str
    dataset: str
    name: str | None = None
    split: str = DEFAULT_SPLIT
    text_field: str | None = None
    data_files: str | None = None
    label: str | None = None
    _stream: Any = field(default=None, repr=False)

    def open(self) -> HubSource:
        """Load the streaming dataset now; any failure becomes a `CorpusError` with the network hint."""
        datasets = require("datasets", "reading Hugging Face datasets")
        local = Path(self.dataset).expanduser()
        try:
            self._stream = self._load(datasets, local)
        except CorpusError:
            raise
        except Exception as exc:  # noqa: BLE001 - datasets raises ConnectionError, FileNotFoundError, ValueError, ...
            if local.exists():
                hint = "check the directory holds a saved dataset (save_to_disk) or data files"
            elif self.spec.startswith(HUB_PREFIX) or self.label:
                hint = NETWORK_HINT
            else:
                hint = f"there is no local path {self.spec!r} either; {NETWORK_HINT}"
            raise CorpusError(f"cannot load Hugging Face dataset {self._describe_id()}: {exc}", hint=hint) from None
        return self

    def _load(self, datasets: Any, local: Path) -> Any:
        if (local / "state.json").is_file() or (local / "dataset_dict.json").is_file():
            saved = datasets.load_from_disk(str(local))
            if isinstance(saved, datasets.DatasetDict):
                if self.split not in saved:
                    raise CorpusError(
                        f"{self.spec}: no split {self.split!r}", hint=f"use one of: {', '.join(saved)} (spec@split)"
                    )
                saved = saved[self.split]
            return saved.to_iterable_dataset()
        if self.data_files:
            # Repos that still ship a loading script (which datasets>=4 no longer runs:
            # https://github.com/huggingface/datasets/pull/7592) are read file by file.
            builder = BUILDERS.get(Path(self.data_files).suffix, "json")
            files = f"hf://datasets/{self.dataset}/{self.data_files}"
            return datasets.load_dataset(builder, data_files=files, split=self.split, streaming=True)
        return datasets.load_dataset(self.dataset, self.name, split=self.split, streaming=True)

    def documents(self, config: CorpusConfig, stats: CorpusStats) -> Iterator[Document]:
        if self._stream is None:
            self.open()
        if self.text_field is not None:
            config = dataclasses.replace(config, text_field=self.text_field)
        records = RecordTexts(config, stats)
        label = self.label or f"{HUB_PREFIX}{self.dataset}"
        index = 0
        try:
            for index, record in enumerate(self._stream):
                document = records.document(record, f"{label}[{index}]")
                if document is not None:
                    yield document
        except CorpusError:
            raise
        except Exception as exc:  # noqa: BLE001 - a dropped connection or a corrupt shard midway
            raise CorpusError(
                f"reading {self._describe_id()} failed near record {index}: {exc}", hint=NETWORK_HINT
            ) from None

    def describe(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"spec": self.spec, "dataset": self.dataset, "config": self.name, "split": self.split}
        if self.data_files:
            entry["data_files"] = self.data_files
        if Path(self.dataset).expanduser().exists():
            entry.update((key, value) for key, value in describe_input(self.dataset).items() if key != "spec")
        return entry

    def _describe_id(self) -> str:
        config = f", config {self.name!r}" if self.name else ""
        return f"{self.dataset!r}{config}, split {self.split!r}"


def hub_source(spec: str) -> HubSource | None:
    """A `HubSource` for `hf:...` or for an `org/name[:config][@split]` id that is not a local path; else None.

    >>> hub_source("wikimedia/wikipedia:20231101.zh@train").name
    '20231101.zh'
    """
    if spec.startswith(HUB_PREFIX):
        return parse_hub_spec(spec)
    if HUB_ID.fullmatch(spec) and Path(spec).suffix.lower() not in EXTENSIONS:
        return parse_hub_spec(spec)  # but `data/x.jsonl` that does not exist is a missing file, not a dataset
    return None


def parse_hub_spec(spec: str) -> HubSource:
    """Split `[hf:]dataset[:config][@split]`; a local directory after `hf:` keeps any `:` in its name."""
    body = spec.removeprefix(HUB_PREFIX)
    dataset, split = body, DEFAULT_SPLIT
    if "@" in body:
        dataset, _, split = body.rpartition("@")
    name = None
    if ":" in dataset and not Path(dataset).expanduser().exists():
        dataset, _, name = dataset.partition(":")
    if not dataset:
        raise CorpusError(f"empty dataset id in {spec!r}", hint="write hf:org/name[:config][@split]")
    return HubSource(spec=spec, dataset=dataset, name=name or None, split=split or DEFAULT_SPLIT)
