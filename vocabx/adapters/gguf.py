"""GGUF files (llama.cpp): read the vocabulary through transformers' GGUF converter into a `tokenizer.json`.

The conversion takes seconds for a 50k vocabulary, so its result is cached by file hash under the vocabx cache.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from vocabx.cache import cache_dir, file_key
from vocabx.errors import TokenizerError, require
from vocabx.outputs import write_text_atomic

log = logging.getLogger(__name__)

# llama.cpp names the pre-tokenizer regex of a GGUF vocabulary (`tokenizer.ggml.pre`); transformers' converter
# only knows the GPT-2 one. These pre-tokenizers restore what the original tokenizer.json had.
_PRE_TOKENIZER_FIXES = {
    # SmolLM/SmolLM2: digits one by one, then the GPT-2 byte-level split (HuggingFaceTB/SmolLM2 tokenizer.json).
    "smollm": {
        "type": "Sequence",
        "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        ],
    },
}


def gguf_metadata(path: str | Path, keys: tuple[str, ...]) -> dict[str, object]:
    """Selected scalar metadata fields of a GGUF file (strings and numbers), without loading tensors."""
    gguf = require("gguf", "reading .gguf files")
    reader = gguf.GGUFReader(str(path))
    out: dict[str, object] = {}
    for key in keys:
        field = reader.fields.get(key)
        if field is None or not field.data:
            continue
        value = field.parts[field.data[0]]
        out[key] = bytes(value).decode("utf-8") if value.dtype.kind == "u" and value.dtype.itemsize == 1 else value.tolist()[0]
    return out


def gguf_tokenizer_json(path: str | Path) -> str:
    """The tokenizer.json text for the vocabulary inside a GGUF file (cached)."""
    path = Path(path)
    cached = cache_dir("tokenizers") / f"gguf-{file_key(path)}.json"
    if cached.is_file():
        return cached.read_text(encoding="utf-8")
    require("gguf", "reading .gguf files")
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    except Exception as exc:
        raise TokenizerError(
            f"could not read a tokenizer from {path}: {str(exc).splitlines()[0][:200]}",
            hint="the GGUF file needs a tokenizer.ggml.* vocabulary of a model type transformers supports",
        ) from exc
    spec = json.loads(tok.backend_tokenizer.to_str())
    pre = gguf_metadata(path, ("tokenizer.ggml.pre",)).get("tokenizer.ggml.pre")
    if pre in _PRE_TOKENIZER_FIXES:
        spec["pre_tokenizer"] = _PRE_TOKENIZER_FIXES[pre]
    text = json.dumps(spec, ensure_ascii=False)
    write_text_atomic(cached, text)
    return text
