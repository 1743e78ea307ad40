"""Read a Hugging Face model directory's safetensors checkpoint without loading it: config, shards, tensor offsets,
and which tensors are the input embedding and the output head (tied or not).

Only the headers are read here (a few KB per shard); tensors are read one at a time by `surgery`.
"""

from __future__ import annotations

import json
import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vocabx.errors import ModelError

log = logging.getLogger(__name__)

INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"
FLOAT_DTYPES = ("F64", "F32", "F16", "BF16")

# Name suffixes of the vocabulary-sized matrices across the architectures transformers ships.
INPUT_SUFFIXES = ("embed_tokens.weight", "wte.weight", "word_embeddings.weight", "embed_in.weight", "tok_embeddings.weight")
OUTPUT_SUFFIXES = ("lm_head.weight", "embed_out.weight", "output.weight")


@dataclass(frozen=True)
class TensorInfo:
    """Where one tensor lives: its shard, dtype, shape and byte range inside the shard's data section."""

    name: str
    file: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass
class Checkpoint:
    """A safetensors checkpoint on disk, as far as vocabulary surgery needs to know it."""

    path: Path
    config: dict[str, Any]  # config.json as written (edited and re-written by the surgery)
    files: list[str]  # shard file names, in index order
    tensors: dict[str, TensorInfo]
    headers: dict[str, dict[str, Any]]  # shard file -> its parsed safetensors header
    index: dict[str, Any] | None  # model.safetensors.index.json, or None for a single file
    input_name: str
    output_name: str | None  # None when the head is tied and not stored
    tied: bool
    rows: int  # rows of the embedding matrix (may exceed the tokenizer: Qwen pads to a multiple of 128)
    hidden: int
    dtype: str  # safetensors dtype code of the embedding, e.g. "BF16"
    notes: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum((self.path / f).stat().st_size for f in self.files)


def read_header(path: Path) -> tuple[dict[str, Any], int]:
    """The JSON header of a safetensors file and the offset where its data section starts."""
    with open(path, "rb") as fh:
        raw = fh.read(8)
        if len(raw) != 8:
            raise ModelError(f"{path} is not a safetensors file (too short)", hint="re-download or re-save the model")
        (length,) = struct.unpack("<Q", raw)
        if length > 100 << 20:
            raise ModelError(f"{path} is not a safetensors file (header of {length} bytes)", hint="re-save the model")
        try:
            header = json.loads(fh.read(length))
            ends = [int(info["data_offsets"][1]) for name, info in header.items() if name != "__metadata__"]
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise ModelError(f"{path} has a corrupt safetensors header: {exc}", hint="re-download or re-save it") from exc
    expected, size = 8 + length + max(ends, default=0), path.stat().st_size
    if size < expected:  # a copy or download cut short: the header is whole, the tensors are not
        raise ModelError(f"{path} is truncated: {size:,} of {expected:,} bytes",
                         hint="re-download or re-save the model; the file was cut short")
    return header, 8 + length


def check_weight_files(path: str | Path) -> None:
    """Raise `ModelError` unless every safetensors file of the model directory is whole (headers read only)."""
    path = Path(path)
    files, _ = _shard_files(path)
    for name in files:
        read_header(path / name)


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Parse config.json and the safetensors headers of a model directory; find the embedding and the head."""
    path = Path(path)
    config = _read_config(path)
    files, index = _shard_files(path)
    tensors: dict[str, TensorInfo] = {}
    headers: dict[str, dict[str, Any]] = {}
    for name in files:
        header, _ = read_header(path / name)
        headers[name] = header
        for tname, info in header.items():
            if tname == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            tensors[tname] = TensorInfo(tname, name, info["dtype"], tuple(info["shape"]), begin, end)
    return _identify(path, config, files, tensors, headers, index)


def _read_config(path: Path) -> dict[str, Any]:
    cfg = path / "config.json"
    if not cfg.is_file():
        raise ModelError(f"model directory {path} has no config.json", hint="point at a directory saved by save_pretrained")
    try:
        config = json.loads(cfg.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelError(f"{cfg} does not parse: {exc}", hint="fix or re-save config.json") from exc
    if "vocab_size" not in config:
        nested = [k for k, v in config.items() if isinstance(v, dict) and "vocab_size" in v]
        raise ModelError(
            f"{cfg} has no top-level vocab_size" + (f" (only inside {', '.join(nested)})" if nested else ""),
            hint="vocabx grows text-only causal LMs; multimodal configs with a nested text_config are not supported",
        )
    return config


def _shard_files(path: Path) -> tuple[list[str], dict[str, Any] | None]:
    if (path / INDEX_NAME).is_file():
        index = json.loads((path / INDEX_NAME).read_text(encoding="utf-8"))
        files = list(dict.fromkeys(index.get("weight_map", {}).values()))
        missing = [f for f in files if not (path / f).is_file()]
        if missing:
            raise ModelError(f"{path} lacks shard(s) {', '.join(missing)} named in {INDEX_NAME}", hint="re-download the model")
        return files, index
    if (path / SINGLE_NAME).is_file():
        return [SINGLE_NAME], None
    singles = sorted(p.name for p in path.glob("*.safetensors"))
    if len(singles) == 1:
        return singles, None
    bins = sorted(p.name for p in path.glob("pytorch_model*.bin"))
    if bins:
        raise ModelError(
            f"{path} holds PyTorch .bin weights ({bins[0]}), which vocabx does not rewrite",
            hint="convert once: AutoModelForCausalLM.from_pretrained(dir).save_pretrained(new_dir) writes safetensors",
        )
    raise ModelError(
        f"model directory {path} holds no weights (no {SINGLE_NAME}, {INDEX_NAME} or single *.safetensors)",
        hint="point at a directory saved by save_pretrained, a .gguf model, or smollm2-135m",
    )


def _identify(
    path: Path,
    config: dict[str, Any],
    files: list[str],
    tensors: dict[str, TensorInfo],
    headers: dict[str, dict[str, Any]],
    index: dict[str, Any] | None,
) -> Checkpoint:
    inputs = [n for n in tensors if n.endswith(INPUT_SUFFIXES)]
    outputs = [n for n in tensors if n.endswith(OUTPUT_SUFFIXES) and n not in inputs]
    if len(inputs) != 1:
        found = ", ".join(inputs) or "none"
        raise ModelError(
            f"{path}: expected one input embedding tensor (…{'/'.join(INPUT_SUFFIXES)}), found {found}",
            hint="vocabx grows decoder-only causal LMs with one token embedding",
        )
    emb = tensors[inputs[0]]
    _refuse_quantized(path, config, emb, tensors)
    if len(emb.shape) != 2:
        raise ModelError(f"{path}: {emb.name} has shape {list(emb.shape)}, expected [vocab, hidden]", hint="re-save the model")
    rows, hidden = emb.shape
    if int(config["vocab_size"]) != rows:
        raise ModelError(
            f"{path}: config.json says vocab_size={config['vocab_size']} but {emb.name} has {rows} rows",
            hint="the checkpoint is inconsistent; re-save it with save_pretrained",
        )
    tied = bool(config.get("tie_word_embeddings", True))  # transformers' PretrainedConfig default is True
    output = outputs[0] if outputs else None
    if output is None and not tied:
        raise ModelError(
            f"{path}: tie_word_embeddings is false but no output head (…{'/'.join(OUTPUT_SUFFIXES)}) is stored",
            hint="the checkpoint is incomplete; re-download it",
        )
    if output is not None:
        _refuse_quantized(path, config, tensors[output], tensors)
        if tensors[output].shape != emb.shape:
            raise ModelError(
                f"{path}: {output} has shape {list(tensors[output].shape)}, {emb.name} {list(emb.shape)}",
                hint="vocabx expects an output head of shape [vocab, hidden]",
            )
    stray = [t.name for t in tensors.values() if t.shape[:1] == (rows,) and t.name not in (emb.name, output)]
    if stray:
        raise ModelError(
            f"{path}: tensor(s) {', '.join(stray[:3])} are vocabulary-sized, and vocabx does not know how to grow them",
            hint="only the token embedding and the output head can be grown",
        )
    return Checkpoint(path, config, files, tensors, headers, index, emb.name, output, tied, rows, hidden, emb.dtype)


def _refuse_quantized(path: Path, config: dict[str, Any], info: TensorInfo, tensors: dict[str, TensorInfo]) -> None:
    """Quantized matrices (GPTQ/AWQ int-packed, bitsandbytes, FP8 with scales) cannot gain rows by concatenation."""
    module = info.name.rsplit(".", 1)[0]
    companions = [n for n in tensors if n.startswith(module + ".") and n.rsplit(".", 1)[1] not in ("weight", "bias")]
    if info.dtype in FLOAT_DTYPES and not companions:
        return
    method = (config.get("quantization_config") or {}).get("quant_method", "unknown method")
    detail = f"dtype {info.dtype}" + (f", with {', '.join(companions[:3])}" if companions else "")
    raise ModelError(
        f"{path}: {info.name} is quantized ({detail}; quantization {method}), and quantized weights cannot be resized",
        hint="extend the unquantized (fp16/bf16/fp32) checkpoint, then quantize the result",
    )
