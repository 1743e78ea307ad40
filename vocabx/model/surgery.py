"""Checkpoint surgery: write a grown checkpoint shard by shard, rewriting only the shards that hold a changed
tensor and copying (or hard-linking) the others byte for byte.

A rewritten shard is streamed: a new safetensors header, then each unchanged tensor's bytes copied straight from
the base file (`copy_file_range`, no decode) and each changed tensor's bytes from memory. Peak memory is the
changed tensors, not the model.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from vocabx.errors import ModelError, OutputError
from vocabx.model.checkpoint import INDEX_NAME, Checkpoint, read_header

log = logging.getLogger(__name__)

TORCH_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
DTYPE_CODES = {v: k for k, v in TORCH_DTYPES.items()}
COPY_CHUNK = 64 << 20  # bytes per copy_file_range / read call: large enough for throughput, bounded memory


def read_tensor(ckpt: Checkpoint, name: str) -> torch.Tensor:
    """One tensor from its shard (memory-mapped by safetensors, so only this tensor is read)."""
    info = ckpt.tensors[name]
    with safe_open(str(ckpt.path / info.file), framework="pt") as fh:
        return fh.get_tensor(name)


def write_checkpoint(
    ckpt: Checkpoint,
    out_dir: Path,
    replace: dict[str, torch.Tensor],
    add: dict[str, torch.Tensor] | None = None,
    *,
    link: bool = False,
) -> dict[str, Any]:
    """Write `ckpt` into `out_dir` with the tensors in `replace` swapped and those in `add` appended.

    Added tensors go into the shard that holds the input embedding. Returns counts of shards rewritten/copied/linked.
    """
    add = add or {}
    target_of_add = ckpt.tensors[ckpt.input_name].file
    counts = {"shards": len(ckpt.files), "shards_rewritten": 0, "shards_copied": 0, "shards_linked": 0}
    try:
        for fname in ckpt.files:
            here = {n: t for n, t in replace.items() if ckpt.tensors[n].file == fname}
            extra = add if fname == target_of_add else {}
            if here or extra:
                _write_shard(ckpt.path / fname, out_dir / fname, here, extra)
                counts["shards_rewritten"] += 1
            elif link and _try_link(ckpt.path / fname, out_dir / fname):
                counts["shards_linked"] += 1
            else:
                shutil.copyfile(ckpt.path / fname, out_dir / fname)
                counts["shards_copied"] += 1
        if ckpt.index is not None:
            _write_index(ckpt, out_dir, add, target_of_add)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise OutputError(
                f"no space left on the device while writing {out_dir}",
                hint=f"free at least {ckpt.total_bytes / 1e9:.1f} GB there, or choose --out on another disk",
            ) from exc
        raise
    return counts


def _try_link(src: Path, dst: Path) -> bool:
    try:
        os.link(src, dst)
        return True
    except OSError as exc:  # another filesystem, or links not allowed: fall back to a copy
        log.debug("hard link %s -> %s failed (%s); copying", src, dst, exc)
        return False


def _write_shard(src: Path, dst: Path, replace: dict[str, torch.Tensor], add: dict[str, torch.Tensor]) -> None:
    header, data_start = read_header(src)
    plan: list[tuple[str, Any]] = []  # ("copy", (begin, end)) or ("tensor", tensor), in output order
    new_header: dict[str, Any] = {}
    if "__metadata__" in header:
        new_header["__metadata__"] = header["__metadata__"]
    offset = 0
    entries = sorted(((n, i) for n, i in header.items() if n != "__metadata__"), key=lambda kv: kv[1]["data_offsets"][0])
    for name, info in entries:
        if name in replace:
            offset = _plan_tensor(new_header, plan, name, replace[name], offset, expect=info["dtype"])
        else:
            begin, end = info["data_offsets"]
            new_header[name] = {"dtype": info["dtype"], "shape": info["shape"], "data_offsets": [offset, offset + end - begin]}
            plan.append(("copy", (begin, end)))
            offset += end - begin
    for name, tensor in add.items():
        offset = _plan_tensor(new_header, plan, name, tensor, offset, expect=None)
    blob = json.dumps(new_header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)  # safetensors pads the header so that the data section is 8-byte aligned
    with open(src, "rb", buffering=0) as fin, open(dst, "wb", buffering=0) as fout:
        _write_all(fout.fileno(), struct.pack("<Q", len(blob)) + blob)
        for kind, item in plan:
            if kind == "copy":
                _copy_range(fin.fileno(), fout.fileno(), data_start + item[0], item[1] - item[0], src)
            else:
                _write_all(fout.fileno(), memoryview(item.contiguous().view(torch.uint8).numpy()).cast("B"))


def _write_all(fd: int, data: bytes | memoryview) -> None:
    """os.write until done: one write(2) call moves at most ~2 GB."""
    view = memoryview(data)
    while len(view):
        view = view[os.write(fd, view[:COPY_CHUNK]):]


def _plan_tensor(header: dict[str, Any], plan: list, name: str, tensor: torch.Tensor, offset: int, expect: str | None) -> int:
    code = DTYPE_CODES.get(tensor.dtype)
    if code is None or (expect is not None and code != expect):
        raise ModelError(f"internal: tensor {name} has dtype {tensor.dtype}, expected {expect}", hint="report this bug")
    size = tensor.numel() * tensor.element_size()
    header[name] = {"dtype": code, "shape": list(tensor.shape), "data_offsets": [offset, offset + size]}
    plan.append(("tensor", tensor))
    return offset + size


def _copy_range(fin: int, fout: int, start: int, length: int, src: Path) -> None:
    """Copy bytes [start, start+length) of `fin` to `fout`'s position, inside the kernel when it can."""
    done = 0
    try:
        while done < length:
            n = os.copy_file_range(fin, fout, min(COPY_CHUNK, length - done), start + done)
            if n == 0:
                break
            done += n
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise
        log.debug("copy_file_range unavailable (%s); copying through user space", exc)
    while done < length:
        chunk = os.pread(fin, min(COPY_CHUNK, length - done), start + done)
        if not chunk:
            raise ModelError(f"{src} ends early (truncated shard)", hint="re-download the model")
        _write_all(fout, chunk)
        done += len(chunk)


def _write_index(ckpt: Checkpoint, out_dir: Path, add: dict[str, torch.Tensor], target: str) -> None:
    index = json.loads(json.dumps(ckpt.index))
    weight_map = index.setdefault("weight_map", {})
    for name in add:
        weight_map[name] = target
    total = 0
    for fname in ckpt.files:
        header, _ = read_header(out_dir / fname)
        total += sum(i["data_offsets"][1] - i["data_offsets"][0] for n, i in header.items() if n != "__metadata__")
    index.setdefault("metadata", {})["total_size"] = total
    (out_dir / INDEX_NAME).write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
