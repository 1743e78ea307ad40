"""Instruction data: Alpaca and ShareGPT records -> chat messages -> the tokenizer's chat template, with labels
only on the assistant turns (-100 elsewhere), and interleaving with replayed general instructions."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vocabx.errors import CorpusError
from vocabx.train.data import interleave_schedule, replay_blocks_needed

log = logging.getLogger(__name__)

ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "bot": "assistant",
         "model": "assistant", "system": "system"}
IGNORE = -100  # the label PyTorch's cross-entropy skips


def read_records(specs: Sequence[str]) -> Iterator[dict[str, Any]]:
    """JSON records from .json (an array) and .jsonl files, or from every such file in a directory."""
    for spec in specs:
        path = Path(spec).expanduser()
        files = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".jsonl")) if path.is_dir() else [path]
        if not files or not files[0].exists():
            raise CorpusError(f"SFT data {spec} does not exist or holds no .json/.jsonl file",
                              hint="pass Alpaca .json arrays or ShareGPT .jsonl files")
        for file in files:
            yield from _file_records(file)


def _file_records(file: Path) -> Iterator[dict[str, Any]]:
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{file} is not UTF-8 text (byte {exc.start}: {exc.reason})",
                          hint="re-save it as UTF-8 JSON or JSON lines") from None
    if file.suffix == ".jsonl":
        records = [_json_line(file, number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{file} is not valid JSON: {exc}",
                              hint="fix the file, or convert it to a JSON array / one JSON object per line") from exc
        records = data if isinstance(data, list) else data.get("data", [data]) if isinstance(data, dict) else []
    yield from (r for r in records if isinstance(r, dict))


def _json_line(file: Path, number: int, line: str) -> Any:
    """One JSON lines record; a broken one names its line of the file (json's own count restarts every line)."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{file}:{number}: line {number} is not valid JSON ({exc.msg} at column {exc.colno})",
                          hint="fix or remove that line") from None


def to_messages(record: dict[str, Any], system: str | None = None) -> list[dict[str, str]] | None:
    """An Alpaca ({instruction, input, output}) or ShareGPT ({conversations|messages}) record as chat messages.

    >>> to_messages({"instruction": "Add", "input": "1+1", "output": "2"})
    [{'role': 'user', 'content': 'Add\\n1+1'}, {'role': 'assistant', 'content': '2'}]
    """
    turns = record.get("conversations") or record.get("messages")
    messages: list[dict[str, str]] = []
    if isinstance(turns, list):
        for turn in turns:
            if not isinstance(turn, dict):
                return None
            role = ROLES.get(str(turn.get("from", turn.get("role", ""))).lower())
            content = turn.get("value", turn.get("content"))
            if role is None or not isinstance(content, str):
                return None
            messages.append({"role": role, "content": content})
    elif isinstance(record.get("instruction"), str) and isinstance(record.get("output"), str):
        if record.get("system"):
            messages.append({"role": "system", "content": str(record["system"])})
        for user, answer in record.get("history") or []:
            messages += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
        prompt = "\n".join(x for x in (record["instruction"], record.get("input") or "") if x)
        messages += [{"role": "user", "content": prompt}, {"role": "assistant", "content": record["output"]}]
    else:
        return None
    if system and not any(m["role"] == "system" for m in messages):
        messages.insert(0, {"role": "system", "content": system})
    return messages


def assistant_spans(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[str, list[tuple[int, int]]] | None:
    """The rendered conversation and the character spans of its assistant turns (content + end-of-turn marker),
    found by rendering the prefixes: a turn spans from the prefix with a generation prompt to the prefix with it.
    None when the template does not render prefixes as prefixes of the whole (such spans cannot be trusted)."""
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    spans = []
    for k, message in enumerate(messages):
        if message["role"] != "assistant" or k == 0:
            continue
        start = tokenizer.apply_chat_template(messages[:k], tokenize=False, add_generation_prompt=True)
        end = tokenizer.apply_chat_template(messages[: k + 1], tokenize=False)
        if not (full.startswith(end) and end.startswith(start)):
            return None
        spans.append((len(start), len(end)))
    return full, spans


def encode(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[list[int], list[int]] | str:
    """Token ids and labels (ids on assistant tokens, -100 elsewhere), or the reason the sample is skipped."""
    rendered = assistant_spans(tokenizer, messages)
    if rendered is None:
        return "template_not_incremental"
    full, spans = rendered
    if not spans:
        return "no_assistant_turn"
    if tokenizer.is_fast:
        enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
        ids = enc["input_ids"]
        inside = [any(s <= a < e for s, e in spans) for a, _ in enc["offset_mapping"]]
    else:  # no offsets: token counts of the prefixes (assumes the template's markers stop merges at boundaries)
        ids = tokenizer(full, add_special_tokens=False)["input_ids"]
        inside = [False] * len(ids)
        for s, e in spans:
            a, b = (len(tokenizer(full[:x], add_special_tokens=False)["input_ids"]) for x in (s, e))
            inside[a:b] = [True] * (b - a)
    return ids, [t if keep else IGNORE for t, keep in zip(ids, inside)]


@dataclass
class SFTSamples:
    """Encoded conversations with their character counts, and what was skipped or truncated and why."""

    ids: list[list[int]] = field(default_factory=list)
    labels: list[list[int]] = field(default_factory=list)
    chars: list[int] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.ids)

    def head(self, max_chars: int | None, max_tokens: int | None) -> SFTSamples:
        """The first conversations that fit both budgets (whole conversations; the rest counted as
        `over_budget`), as `train cpt` reads its domain text up to --max-chars / --max-tokens."""
        chars = np.cumsum(self.chars) if self.chars else np.zeros(0)
        tokens = np.cumsum([len(x) for x in self.ids]) if self.ids else np.zeros(0)
        fits = np.ones(len(self), dtype=bool)
        if max_chars is not None:
            fits &= chars <= max_chars
        if max_tokens is not None:
            fits &= tokens <= max_tokens
        n = int(np.argmin(fits)) if not fits.all() else len(self)
        counts = Counter(self.counts)
        counts["over_budget"] = len(self) - n
        counts["samples"] = n
        return SFTSamples(self.ids[:n], self.labels[:n], self.chars[:n], counts)


def encode_all(records, tokenizer: Any, max_length: int, overlong: str, system: str | None = None) -> SFTSamples:
    """Encode records; over-long ones are truncated or skipped per `overlong`, each case counted."""
    out = SFTSamples()
    for record in records:
        messages = to_messages(record, system) or []
        result = encode(tokenizer, messages) if messages else "unknown_format"
        if isinstance(result, str):
            out.counts[f"skipped_{result}"] += 1
            continue
        ids, labels = result
        if len(ids) > max_length:
            if overlong == "skip":
                out.counts["skipped_overlong"] += 1
                continue
            ids, labels = ids[:max_length], labels[:max_length]
            if all(x == IGNORE for x in labels[1:]):
                out.counts["skipped_no_labels_after_truncation"] += 1
                continue
            out.counts["truncated"] += 1
        out.ids.append(ids)
        out.labels.append(labels)
        out.chars.append(sum(len(m["content"]) for m in messages))
    out.counts["samples"] = len(out.ids)
    return out


@dataclass
class SFTMix:
    """The training order of conversations (domain and replay interleaved), usable as a dataset and a ledger."""

    ids: list[list[int]]
    labels: list[list[int]]
    chars: np.ndarray
    is_replay: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def consumed(self, examples: int) -> dict[str, float]:
        n = min(examples, len(self))
        replay = int(self.is_replay[:n].sum())
        return {"examples": n, "tokens": sum(len(x) for x in self.ids[:n]), "chars": float(self.chars[:n].sum()),
                "replay_examples": replay, "replay_share": replay / n if n else 0.0}


def mix_samples(domain: SFTSamples, replay: SFTSamples | None, ratio: float, seed: int, passes: int) -> SFTMix:
    """Shuffle each set with the seed and interleave at `ratio` (every prefix within one sample), per pass."""
    n_replay = replay_blocks_needed(len(domain), ratio) if replay is not None and len(replay) else 0
    schedule = interleave_schedule(len(domain), n_replay)
    rng = np.random.default_rng(seed)
    ids, labels, chars, flags = [], [], [], []
    for _ in range(passes):
        d = iter(rng.permutation(len(domain)))
        r = (iter(rng.permutation(len(replay))[np.arange(n_replay) % len(replay)]) if n_replay and replay is not None
             else iter(()))
        for is_r in schedule:
            src, i = (replay, next(r)) if is_r else (domain, next(d))
            assert src is not None  # replay samples are scheduled only when there is a replay set
            ids.append(src.ids[i])
            labels.append(src.labels[i])
            chars.append(src.chars[i])
            flags.append(bool(is_r))
    return SFTMix(ids, labels, np.asarray(chars, dtype=np.float64), np.asarray(flags, dtype=bool))


class SFTDataset(torch.utils.data.Dataset):
    def __init__(self, mix: SFTMix) -> None:
        self.mix = mix

    def __len__(self) -> int:
        return len(self.mix)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return {"input_ids": self.mix.ids[i], "labels": self.mix.labels[i]}


class PadCollator:
    """Pads a batch to its longest sample: pad id in inputs, -100 in labels, 0 in the attention mask."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, batch: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(b["input_ids"]) for b in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, b in enumerate(batch):
            n = len(b["input_ids"])
            ids[row, :n] = torch.tensor(b["input_ids"])
            labels[row, :n] = torch.tensor(b["labels"])
            mask[row, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}
