"""The pre-tokenizer type llama.cpp needs for a byte-level BPE (`tokenizer.ggml.pre`: `smollm`, `qwen2`, ...).

Found once, on the base, and recorded by `vocabx extend` in the manifest: from a GGUF base's own metadata,
`default` for SentencePiece, or by llama.cpp's table (hash of the base's tokenization of a fixed check text ->
type), read from the converter's source without importing it. The extended tokenizer cannot be looked up: its
new merges change the check text's tokenization, which is why the converter refuses it.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vocabx.adapters.base import TokenizerAdapter
from vocabx.errors import MissingDependencyError, ModelError

log = logging.getLogger(__name__)

MANIFEST_KEY = "llama_cpp"  # manifest.json of `vocabx extend`: {"pre": TYPE or null, "how": where it came from}
SENTENCEPIECE_PRE = "default"  # llama.cpp's SentencePiece tokenizer has no regex pre-tokenizer
TABLE_FILES = ("conversion/base.py", "convert_hf_to_gguf.py")  # newer llama.cpp moved the table into conversion/


def detect_pre(adapter: TokenizerAdapter, converter: Path | None = None) -> dict[str, Any]:
    """{"pre": TYPE or None, "how": ...} for a base tokenizer; never raises (None: decide at export time)."""
    source = Path(str(adapter.source))
    if source.suffix.lower() == ".gguf" and source.is_file():
        from vocabx.adapters.gguf import gguf_metadata

        pre = gguf_metadata(source, ("tokenizer.ggml.pre",)).get("tokenizer.ggml.pre")
        return {"pre": pre, "how": "the base GGUF's tokenizer.ggml.pre"}
    if adapter.family.startswith("sentencepiece"):
        return {"pre": SENTENCEPIECE_PRE, "how": "SentencePiece (no pre-tokenizer regex)"}
    if adapter.family != "bytelevel-bpe":
        return {"pre": None, "how": f"{adapter.family}: not a family llama.cpp's converter hashes"}
    tokenizer = getattr(adapter, "tokenizer", None)
    try:
        table = hash_table(converter)
    except (MissingDependencyError, ModelError) as exc:
        return {"pre": None, "how": f"not looked up: {exc.message}"}
    pre = lookup(lambda text: tokenizer.encode(text).ids, table) if tokenizer is not None else None
    return {"pre": pre, "how": "llama.cpp's hash table" if pre else "hash not in llama.cpp's table"}


def lookup(encode: Callable[[str], list[int]], table: tuple[str, dict[str, str]]) -> str | None:
    """The type whose hash matches `encode(check_text)`, as the converter computes it (special tokens included)."""
    check_text, hashes = table
    digest = hashlib.sha256(str(encode(check_text)).encode()).hexdigest()
    return hashes.get(digest)


def hash_table(converter: Path | None = None) -> tuple[str, dict[str, str]]:
    """(check text, {sha256: type}) from the converter's `get_vocab_base_pre`, parsed, not imported."""
    from vocabx.export.converter import find_converter

    root = converter or find_converter()
    for name in TABLE_FILES:
        if (root / name).is_file():
            return _parse_table(str(root / name))
    raise ModelError(f"{root} has none of {', '.join(TABLE_FILES)}", hint="pass --converter a llama.cpp checkout")


@functools.lru_cache(maxsize=4)
def _parse_table(path: str) -> tuple[str, dict[str, str]]:
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    func = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "get_vocab_base_pre"), None)
    if func is None:
        raise ModelError(f"{path} has no get_vocab_base_pre", hint="use a llama.cpp converter from 2024 or later")
    check_text: str | None = None
    hashes: dict[str, str] = {}
    for node in ast.walk(func):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "chktxt":
            check_text = ast.literal_eval(node.value)
        # if chkhsh == "<hex>": res = "<type>"
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and node.body:
            left, right, body = node.test.left, node.test.comparators[0], node.body[0]
            if (getattr(left, "id", None) == "chkhsh" and isinstance(right, ast.Constant)
                    and isinstance(right.value, str) and isinstance(body, ast.Assign)
                    and isinstance(body.value, ast.Constant) and isinstance(body.value.value, str)):
                hashes[right.value] = body.value.value  # the converter's ifs run in turn: the last match wins
    if check_text is None or not hashes:
        raise ModelError(f"{path}: could not read llama.cpp's pre-tokenizer table", hint="pass --pre TYPE")
    return check_text, hashes


def recorded_pre(model_dir: Path) -> str | None:
    """The type `vocabx extend` recorded in MODEL/manifest.json, if any."""
    try:
        manifest = json.loads((Path(model_dir) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    entry = manifest.get(MANIFEST_KEY) if isinstance(manifest, dict) else None
    return entry.get("pre") if isinstance(entry, dict) else None


def base_of_extension(tokenizer_json: str, base_size: int) -> str:
    """The base tokenizer.json inside a vocabx byte-level extension: entries below `base_size` and the merges
    between them (vocabx appends new merges after every old one, so the old merge order is intact)."""
    spec = json.loads(tokenizer_json)
    model = spec["model"]
    model["vocab"] = {t: i for t, i in model["vocab"].items() if i < base_size}
    kept = model["vocab"]

    def old(merge: Any) -> bool:
        left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
        return left in kept and right in kept and left + right in kept

    model["merges"] = [m for m in model["merges"] if old(m)]
    spec["added_tokens"] = [t for t in spec.get("added_tokens", []) if t["id"] < base_size]
    return json.dumps(spec, ensure_ascii=False)


def resolve_pre(model_dir: Path, explicit: str | None, family: str, tokenizer_json: str | None,
                base_size: int | None, converter: Path | None = None) -> tuple[str, str]:
    """(type, how) for exporting MODEL: --pre, the manifest's record, or a lookup of the base inside it."""
    if explicit:
        return explicit, "--pre"
    if family.startswith("sentencepiece"):
        return SENTENCEPIECE_PRE, "SentencePiece"
    pre = recorded_pre(model_dir)
    if pre:
        return pre, "recorded by vocabx extend"
    if tokenizer_json is not None:
        from tokenizers import Tokenizer

        # An extension's base is inside it (its old entries and merges); a tokenizer with no record is itself.
        base = Tokenizer.from_str(base_of_extension(tokenizer_json, base_size) if base_size else tokenizer_json)
        pre = lookup(lambda text: base.encode(text).ids, hash_table(converter))
        if pre:
            return pre, "llama.cpp's hash table" + (", on the base inside the extension" if base_size else "")
    raise ModelError(f"{model_dir}: the llama.cpp pre-tokenizer type of its base is not known",
                     hint="pass --pre TYPE (the base's tokenizer.ggml.pre, e.g. smollm, qwen2, llama-bpe, deepseek-v3)")
