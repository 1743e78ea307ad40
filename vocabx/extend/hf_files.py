"""The tokenizer directory an extension is saved as: `tokenizer.json` plus the files `AutoTokenizer` reads beside it
(`tokenizer_config.json` with the chat template, `special_tokens_map.json`), carried over from the base.

Where the base has none (a GGUF, a tiktoken rank file) they are derived once, through transformers, and cached.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from vocabx.cache import cache_dir
from vocabx.extend.base import Extension
from vocabx.outputs import file_sha256, write_json, write_text_atomic

log = logging.getLogger(__name__)

SPECIAL_KEYS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
# Keys transformers writes that describe where a file was loaded from, not the tokenizer.
_VOLATILE_KEYS = ("is_local", "local_files_only", "name_or_path", "_commit_hash", "auto_map")
# tokenizer_config.json of a base with none: a plain fast tokenizer that keeps spaces exactly as encoded.
_DEFAULT_CONFIG: dict[str, Any] = {"tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False}


def write_tokenizer_dir(extension: Extension, out_dir: Path) -> list[str]:
    """Write tokenizer.json, tokenizer_config.json and special_tokens_map.json; return the names written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = json.loads(extension.extended.json_text)  # type: ignore[attr-defined]
    write_text_atomic(out_dir / "tokenizer.json", json.dumps(spec, ensure_ascii=False, indent=2) + "\n")
    config = base_tokenizer_config(extension.base.source)
    write_json(out_dir / "tokenizer_config.json", config)
    specials = {key: config[key] for key in SPECIAL_KEYS if config.get(key) is not None}
    if config.get("additional_special_tokens"):
        specials["additional_special_tokens"] = config["additional_special_tokens"]
    write_json(out_dir / "special_tokens_map.json", specials)
    return ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]


def base_tokenizer_config(source: str) -> dict[str, Any]:
    """The base's tokenizer_config (specials, chat template, class) with the volatile keys removed."""
    path = Path(source)
    config: dict[str, Any] = {}
    if path.suffix == ".gguf" and path.is_file():
        config = _gguf_config(path)
    elif path.is_file() and (path.parent / "tokenizer_config.json").is_file() and path.name == "tokenizer.json":
        config = _directory_config(path.parent)
    if not config:
        config = dict(_DEFAULT_CONFIG)
        if path.suffix == ".tiktoken":  # Qwen's rank file: its end-of-text token pads and ends sequences
            config.update(eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    for key in _VOLATILE_KEYS:
        config.pop(key, None)
    config.setdefault("clean_up_tokenization_spaces", False)
    return dict(sorted(config.items()))


def _directory_config(directory: Path) -> dict[str, Any]:
    config = json.loads((directory / "tokenizer_config.json").read_text(encoding="utf-8"))
    specials_file = directory / "special_tokens_map.json"
    if specials_file.is_file():
        for key, value in json.loads(specials_file.read_text(encoding="utf-8")).items():
            config.setdefault(key, value)
    template = directory / "chat_template.jinja"
    if template.is_file() and "chat_template" not in config:
        config["chat_template"] = template.read_text(encoding="utf-8")
    return config


def _gguf_config(path: Path) -> dict[str, Any]:
    """Specials and chat template of a GGUF vocabulary, read by transformers (seconds; cached by file hash)."""
    cached = cache_dir("tokenizers") / f"gguf-{file_sha256(path)[:16]}.config.json"
    if cached.is_file():
        return json.loads(cached.read_text(encoding="utf-8"))
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    except Exception as exc:  # noqa: BLE001 - a vocabulary transformers cannot read: fall back to the plain config
        log.warning("could not read specials from %s (%s); writing a plain tokenizer_config", path, exc)
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        tok.save_pretrained(tmp)
        config = _directory_config(Path(tmp))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"  # readable by transformers 4.x and 5.x alike
    for key in _VOLATILE_KEYS + ("backend", "model_max_length"):
        config.pop(key, None)
    write_json(cached, config)
    return config
