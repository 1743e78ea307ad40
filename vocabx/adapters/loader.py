"""Resolve whatever a user points at into a `TokenizerAdapter`: a model or tokenizer directory, a
`tokenizer.json`, a SentencePiece `tokenizer.model`, a WordPiece `vocab.txt`, a `.gguf` file, a `.tiktoken`
rank file, a built-in name, or a Hugging Face hub id.

Each kind of input has one resolver below; the first that claims the spec loads it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from vocabx.adapters.base import TokenizerAdapter
from vocabx.adapters.hf import HFTokenizerAdapter
from vocabx.adapters.sentencepiece import SentencePieceAdapter
from vocabx.adapters.wordpiece import wordpiece_from_vocab
from vocabx.errors import TokenizerError, require

log = logging.getLogger(__name__)

SUPPORTED = (
    "a model/tokenizer directory (tokenizer.json, tokenizer.model or vocab.txt), a tokenizer.json, "
    "a SentencePiece .model, a WordPiece vocab.txt, a .gguf file, a .tiktoken file, "
    "a built-in name (see `vocabx tokenizers`), or a Hugging Face hub id"
)


def load_tokenizer(spec: str | Path) -> TokenizerAdapter:
    """Load a tokenizer from any supported spec; raise `TokenizerError` naming the spec and the options."""
    from vocabx.adapters import builtin

    text = str(spec)
    path = Path(text).expanduser()
    if path.is_dir():
        return _from_directory(path)
    if path.is_file():
        return _from_file(path)
    if text in builtin.BUILTIN_TOKENIZERS:
        return builtin.load_builtin(text)
    if _looks_like_path(text):
        raise TokenizerError(f"tokenizer path {text} does not exist", hint=f"expected {SUPPORTED}")
    return _from_hub(text)


def _looks_like_path(text: str) -> bool:
    return text.startswith((".", "/", "~")) or text.endswith("/") or text.count("/") != 1 or Path(text).suffix != ""


def _from_directory(path: Path) -> TokenizerAdapter:
    # tokenizer.json wins: it is what transformers' fast tokenizer uses, and what vocabx extend writes.
    if (path / "tokenizer.json").is_file():
        return HFTokenizerAdapter.from_file(path / "tokenizer.json", name=path.name)
    if (path / "tokenizer.model").is_file():
        return SentencePieceAdapter.from_file(path / "tokenizer.model", name=path.name)
    if (path / "vocab.txt").is_file():
        return wordpiece_from_vocab(path / "vocab.txt")
    ggufs = sorted(path.glob("*.gguf"))
    if len(ggufs) == 1:
        return _from_gguf(ggufs[0])
    raise TokenizerError(
        f"directory {path} holds no tokenizer (no tokenizer.json, tokenizer.model, vocab.txt or single .gguf)",
        hint=f"expected {SUPPORTED}",
    )


def _from_file(path: Path) -> TokenizerAdapter:
    suffix = path.suffix.lower()
    if ".model" in path.suffixes:  # Mistral ships tokenizer.model.v1 .. .v7
        suffix = ".model"
    if suffix == ".json":
        return HFTokenizerAdapter.from_file(path)
    if suffix == ".model":
        return SentencePieceAdapter.from_file(path)
    if suffix == ".txt":
        return wordpiece_from_vocab(path)
    if suffix == ".gguf":
        return _from_gguf(path)
    if suffix == ".tiktoken":
        from vocabx.adapters.tiktoken import tiktoken_to_json

        return HFTokenizerAdapter(tiktoken_to_json(path), name=path.stem, source=str(path))
    raise TokenizerError(f"{path} is not a tokenizer file vocabx knows (suffix {suffix!r})", hint=f"expected {SUPPORTED}")


def _from_gguf(path: Path) -> TokenizerAdapter:
    from vocabx.adapters.gguf import gguf_tokenizer_json

    return HFTokenizerAdapter(gguf_tokenizer_json(path), name=path.stem, source=str(path))


def _from_hub(repo_id: str) -> TokenizerAdapter:
    """A hub id: fetch tokenizer files through huggingface_hub (cached; works offline once cached)."""
    hub = require("huggingface_hub", "loading tokenizers from the Hugging Face hub")
    last: Exception | None = None
    for filename in ("tokenizer.json", "tokenizer.model"):
        try:
            local = hub.hf_hub_download(repo_id, filename)
        except Exception as exc:  # noqa: BLE001 - missing file, no network, gated repo: try the next file, report the last
            last = exc
            continue
        return _from_file(Path(local)) if filename != "tokenizer.json" else HFTokenizerAdapter.from_file(local, name=repo_id)
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    reason = type(last).__name__ if last else "not found"
    raise TokenizerError(
        f"could not load tokenizer {repo_id!r} from the Hugging Face hub ({reason})",
        hint=("HF_HUB_OFFLINE=1 is set; " if offline else "")
        + f"check the id and your network, or pass a local path; expected {SUPPORTED}",
    )
