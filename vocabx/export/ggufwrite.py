"""GGUF files written by vocabx with the `gguf` library: a vocabulary-only file (what llama.cpp loads with
`vocab_only` to tokenize), and GGUF in, GGUF out: a base GGUF's tensors copied as stored (quantized stays
quantized, old rows bit-identical) with the new embedding and output rows appended in the same tensor type.

The second needs no float32 Hugging Face weights of the whole model: only the new rows, quantized row by row
(every GGML block lies inside one row, so old rows' bytes are untouched).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from vocabx.errors import ModelError, require
from vocabx.export.vocab import ARRAY_KEYS, GGUFVocab

log = logging.getLogger(__name__)

EMBED, OUTPUT = "token_embd.weight", "output.weight"
# Keys the writer sets itself or that describe the old vocabulary.
_REPLACED = (*ARRAY_KEYS, "tokenizer.ggml.model", "tokenizer.ggml.pre", "general.architecture")
# Shape of a vocabulary-only file's model: llama.cpp reads an architecture's hyperparameters even then.
_VOCAB_ONLY_HPARAMS = {"context_length": 4096, "embedding_length": 64, "block_count": 1, "feed_forward_length": 128,
                       "head_count": 1}


def write_vocab_only(path: Path, vocab: GGUFVocab, special_dir: Path | None, name: str) -> None:
    """A tensorless GGUF of architecture llama holding `vocab`."""
    gguf = require("gguf", "writing GGUF files")
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(name)
    for key, value in _VOCAB_ONLY_HPARAMS.items():
        getattr(writer, f"add_{key}")(value)
    writer.add_vocab_size(len(vocab.tokens))
    vocab.write(writer, special_dir)
    _finish(writer)


def grow_gguf(reader: Any, path: Path, vocab: GGUFVocab, new_rows: dict[str, np.ndarray]) -> dict[str, Any]:
    """Copy the base GGUF open in `reader` to `path` with `vocab` and the rows in `new_rows` (GGUF tensor name -> float32 [n_new, hidden])
    appended to the embedding and output tensors; an output named here that the base lacks (a tied base whose head
    was untied) starts as a copy of the embedding's bytes. Returns counts."""
    gguf = require("gguf", "writing GGUF files")
    arch = str(reader.fields["general.architecture"].contents())
    writer = gguf.GGUFWriter(str(path), arch)
    _copy_metadata(gguf, reader, writer, arch)
    writer.add_vocab_size(len(vocab.tokens))
    vocab.write(writer, None)  # specials and chat template: the base's own keys, copied above
    tensors = {t.name: t for t in reader.tensors}
    grown = {name: _grown(gguf, tensors[EMBED if name not in tensors else name], rows) for name, rows in new_rows.items()}
    for t in reader.tensors:
        data = grown.get(t.name, t.data)
        writer.add_tensor_info(t.name, data.shape, data.dtype, data.nbytes, t.tensor_type)
    for name in (n for n in grown if n not in tensors):
        data = grown[name]
        writer.add_tensor_info(name, data.shape, data.dtype, data.nbytes, tensors[EMBED].tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for t in reader.tensors:
        writer.write_tensor_data(grown.get(t.name, t.data))
    for name in (n for n in grown if n not in tensors):
        writer.write_tensor_data(grown[name])
    writer.close()
    rows = {name: int(data.shape[0]) for name, data in grown.items()}
    return {"tensors_copied": len(tensors) - len([n for n in grown if n in tensors]), "tensors_grown": rows,
            "tensor_type": tensors[EMBED].tensor_type.name}


def _copy_metadata(gguf: Any, reader: Any, writer: Any, arch: str) -> None:
    """Every key of the base except the file header, the vocabulary and the vocabulary size."""
    for f in reader.fields.values():
        if f.name.startswith("GGUF.") or f.name in _REPLACED or f.name == f"{arch}.vocab_size":
            continue
        vtype = f.types[0]
        sub = f.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(f.name, f.contents(), vtype, sub_type=sub)


def _grown(gguf: Any, tensor: Any, rows: np.ndarray) -> np.ndarray:
    """The stored rows of `tensor` followed by `rows` in its tensor type (raw bytes for quantized types)."""
    kind = tensor.tensor_type
    old = np.asarray(tensor.data)
    if old.ndim != 2 or rows.ndim != 2:
        raise ModelError(f"{tensor.name} is not a matrix (shape {list(old.shape)})", hint="report this bug")
    if kind in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
        new = rows.astype(old.dtype)
    else:
        try:
            new = gguf.quants.quantize(np.ascontiguousarray(rows, dtype=np.float32), kind)
        except NotImplementedError as exc:
            raise ModelError(f"the gguf library cannot quantize rows to {kind.name} ({tensor.name})",
                             hint="export with --outtype f32/f16/q8_0 (llama.cpp's converter) instead") from exc
    if new.shape[1:] != old.shape[1:]:
        raise ModelError(f"{tensor.name}: new rows of shape {list(new.shape)} do not fit {list(old.shape)}",
                         hint="the model's hidden size differs from the base GGUF's")
    return np.concatenate([old, new])


def dequantized_rows(reader: Any, name: str) -> np.ndarray:
    """One tensor of a GGUF open in `reader` as float32 rows [rows, hidden] (dequantized by the gguf library)."""
    gguf = require("gguf", "reading GGUF files")
    tensor = next((t for t in reader.tensors if t.name == name), None)
    if tensor is None:
        raise ModelError(f"the base GGUF has no tensor {name}", hint="pass the GGUF model the extension started from")
    return gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32, copy=False)


def _finish(writer: Any) -> None:
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
