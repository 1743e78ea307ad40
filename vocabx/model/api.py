"""The model side of `vocabx extend`: resolve BASE to a safetensors directory, grow its embedding and head for an
`Extension`, initialize the new rows, write the checkpoint by surgery, and check the result.
"""

from __future__ import annotations

import json
import logging
import shutil
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from vocabx.errors import ModelError, OutputError, UsageError
from vocabx.extend.base import Extension
from vocabx.model import checks
from vocabx.model.checkpoint import Checkpoint, read_checkpoint
from vocabx.model.default import DEFAULT_MODEL, default_model_dir, gguf_model_dir
from vocabx.model.init import base_pieces, check_methods, init_rows, row_mean
from vocabx.model.layout import Layout, grow_matrix, plan_layout
from vocabx.model.methods import DEFAULT_INIT
from vocabx.model.surgery import read_tensor, write_checkpoint

log = logging.getLogger(__name__)

CHECK_FORWARD_MAX_BYTES = 3_000_000_000  # above this, loading base + output twice is not a "cheap" check
CARRIED_FILES = ("generation_config.json", "chat_template.jinja", "chat_template.json", "tokenizer_config.json",
                 "special_tokens_map.json")  # copied from BASE only when the tokenizer side did not write them
WEIGHT_GLOBS = ("*.safetensors", "*.safetensors.index.json", "pytorch_model*.bin")


def is_model(spec: str | Path) -> bool:
    """Whether BASE holds weights: the default name, a model directory, or a GGUF file with tensors."""
    text = str(spec)
    if text == DEFAULT_MODEL:
        return True
    path = Path(text).expanduser()
    if path.is_file():
        return path.suffix.lower() == ".gguf" and _gguf_has_tensors(path)
    if path.is_dir():
        if any(next(path.glob(g), None) for g in WEIGHT_GLOBS):
            return True
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1 and _gguf_has_tensors(ggufs[0]):
            return True
        try:  # a config naming an architecture marks a model directory, even with its weights missing
            return bool(json.loads((path / "config.json").read_text(encoding="utf-8")).get("architectures"))
        except (OSError, ValueError):
            return False
    return False


def _gguf_has_tensors(path: Path) -> bool:
    """Vocabulary-only GGUFs (llama.cpp's ggml-vocab-*.gguf) carry no tensors; the count is in the fixed header."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)  # magic "GGUF", uint32 version, uint64 tensor count (little-endian)
    except OSError:
        return False
    return len(head) == 16 and head[:4] == b"GGUF" and struct.unpack("<Q", head[8:16])[0] > 0


def resolve_model(spec: str | Path, progress: bool = False) -> Path:
    """The safetensors model directory behind BASE (converting the default or a GGUF once, into the cache)."""
    text = str(spec)
    if text == DEFAULT_MODEL:
        return default_model_dir(progress)
    path = Path(text).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        return gguf_model_dir(path.resolve(), progress)
    if path.is_dir():
        ggufs = sorted(path.glob("*.gguf"))
        if not (path / "config.json").is_file() and len(ggufs) == 1:
            return gguf_model_dir(ggufs[0].resolve(), progress)
        return path.resolve()
    raise ModelError(
        f"model {text} does not exist",
        hint=f"pass a Hugging Face model directory with safetensors, a .gguf model file, or {DEFAULT_MODEL}",
    )


def extend_model(
    base_spec: str | Path,
    extension: Extension,
    out_dir: str | Path,
    init: str = DEFAULT_INIT,
    init_output: str | None = None,
    pad_to_multiple_of: int | None = None,
    seed: int = 0,
    progress: bool = False,
    *,
    link_unchanged: bool = False,
    check_forward: bool | None = None,
    corpus: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Write BASE's weights, grown for `extension`, into `out_dir` (the directory the extended tokenizer is in).

    `init` initializes the new input rows and, unless `init_output` is given, the new output rows. A tied head
    with a different output method is untied (its own matrix, `tie_word_embeddings: false`). `link_unchanged`
    hard-links shards that do not change instead of copying them (fast, but then BASE and OUT share those files:
    never rewrite them in place). `check_forward` (default: for checkpoints under 3 GB) loads both models and
    compares logits on unchanged text. `corpus` (domain texts) is what `logit-match` measures
    the base model on; it is required for that method. Returns counts: rows, how each was initialized, shards, and the checks.
    """
    in_method, out_method = check_methods(init, init_output)
    model_dir = resolve_model(base_spec, progress)
    ckpt = read_checkpoint(model_dir)
    out_dir = Path(out_dir).expanduser().resolve()
    created = not out_dir.exists()
    before = set(out_dir.iterdir()) if not created else set()
    try:
        return _extend(model_dir, ckpt, extension, _prepare_out(out_dir, model_dir), in_method, out_method,
                       pad_to_multiple_of, seed, progress, link_unchanged, check_forward, corpus)
    except BaseException:
        # Leave OUT as it was: remove what this call wrote (the tokenizer files written before it stay).
        for path in (set(out_dir.iterdir()) - before) if out_dir.is_dir() else ():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        if created and out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()
        raise


def _extend(
    model_dir: Path, ckpt: Checkpoint, extension: Extension, out_dir: Path, in_method: str, out_method: str,
    pad_to_multiple_of: int | None, seed: int, progress: bool, link_unchanged: bool, check_forward: bool | None,
    corpus: Sequence[str] | None,
) -> dict[str, Any]:
    if out_method == "logit-match" and not corpus:
        raise UsageError("init method logit-match needs domain text to measure the base model on",
                         hint="pass --corpus (a few hundred documents are enough), or choose another --init-output")
    layout = plan_layout(ckpt, extension, pad_to_multiple_of)
    _check_space(ckpt, layout, out_dir, link_unchanged)
    pieces = [base_pieces(e, extension.base) for e in layout.entries]
    untie = ckpt.tied and out_method != in_method
    counts: dict[str, Any] = _layout_counts(ckpt, layout, in_method, out_method, untie)
    replace, add = _grown_tensors(ckpt, layout, pieces, (in_method, out_method), untie, seed, model_dir, counts,
                                  extension, corpus, progress)
    try:
        counts.update(write_checkpoint(ckpt, out_dir, replace, add, link=link_unchanged))
    except OSError as exc:
        raise OutputError(f"could not write the model into {out_dir}: {exc}", hint="check the disk and permissions") from exc
    del replace, add
    _write_config(ckpt, out_dir, layout, untie)
    counts["carried_files"] = _carry_files(model_dir, out_dir)
    counts.update(checks.check_old_rows(ckpt, out_dir, layout))
    if check_forward if check_forward is not None else ckpt.total_bytes <= CHECK_FORWARD_MAX_BYTES:
        counts.update(checks.check_forward(model_dir, out_dir, extension.base, extension.extended, layout.n_base))
        counts.update(checks.check_tokenizer_loads(out_dir, layout.n_new_vocab))
    else:
        counts["logits_check"] = f"skipped: checkpoint of {ckpt.total_bytes / 1e9:.1f} GB (pass check_forward=True)"
    return counts


def _prepare_out(out_dir: Path, model_dir: Path) -> Path:
    out_dir = out_dir.expanduser().resolve()
    if out_dir == model_dir or model_dir in out_dir.parents:
        raise OutputError(f"output {out_dir} is inside the model {model_dir}", hint="vocabx never writes into BASE")
    out_dir.mkdir(parents=True, exist_ok=True)
    clash = [p.name for g in (*WEIGHT_GLOBS, "config.json") for p in out_dir.glob(g)]
    if clash:
        raise OutputError(f"output {out_dir} already holds model files ({', '.join(sorted(clash)[:3])})",
                          hint="write the extended model into a new, empty directory")
    return out_dir


def _check_space(ckpt: Checkpoint, layout: Layout, out_dir: Path, link: bool) -> None:
    """Refuse before writing anything when the disk cannot hold the output (plus 5% slack)."""
    emb = ckpt.tensors[ckpt.input_name]
    row_bytes = (emb.end - emb.begin) // max(1, ckpt.rows)
    growth = (layout.rows_new - layout.rows_old) * row_bytes * 2 + (ckpt.rows * row_bytes if ckpt.tied else 0)
    needed = int(((0 if link else ckpt.total_bytes) + growth) * 1.05)
    free = shutil.disk_usage(out_dir).free
    if free < needed:
        raise OutputError(
            f"not enough disk space for the extended model in {out_dir}: needs {needed / 1e9:.2f} GB, "
            f"{free / 1e9:.2f} GB free",
            hint="free some space, choose --out on another disk, or hard-link unchanged shards",
        )


def _layout_counts(ckpt: Checkpoint, layout: Layout, in_method: str, out_method: str, untie: bool) -> dict[str, Any]:
    return {
        "base_rows": layout.rows_old,
        "base_tokenizer_size": layout.n_base,
        "extended_tokenizer_size": layout.n_new_vocab,
        "rows": layout.rows_new,
        "new_rows": layout.n_new_vocab - layout.n_base,
        "padding_rows_reused": layout.padding_reused,
        "padding_rows_added": layout.padding_added,
        "padding_rows_kept": layout.padding_kept,
        "dtype": ckpt.dtype,
        "tied": ckpt.tied and not untie,
        "untied": untie,
        "init_input": in_method,
        "init_output": out_method,
    }


def _grown_tensors(
    ckpt: Checkpoint, layout: Layout, pieces: list[list[int]], methods: tuple[str, str], untie: bool, seed: int,
    model_dir: Path, counts: dict[str, Any], extension: Extension, corpus: Sequence[str] | None, progress: bool,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The grown input matrix and, when stored or untied, the grown output matrix."""
    in_method, out_method = methods
    init_range = float(ckpt.config.get("initializer_range", 0.02))
    old_in = read_tensor(ckpt, ckpt.input_name)
    how: Mapping[str, int | float]  # how each row was made; logit-match's counts include floats
    rows, how = init_rows(in_method, old_in[: layout.n_base], pieces, seed=seed, initializer_range=init_range)
    counts["init_input_counts"] = how
    replace = {ckpt.input_name: grow_matrix(old_in, layout, rows, row_mean(old_in[: layout.n_base]))}
    add: dict[str, torch.Tensor] = {}
    if ckpt.tied and not untie:
        counts["init_output_counts"] = "tied to the input rows"
        return replace, add
    old_out = old_in if untie else read_tensor(ckpt, ckpt.output_name)  # type: ignore[arg-type]
    del old_in
    real = old_out[: layout.n_base]
    if out_method == "logit-match":
        from vocabx.model.logit_match import logit_match_rows

        start = ckpt.config.get("bos_token_id", ckpt.config.get("eos_token_id"))
        by_id = {layout.n_base + i: p for i, p in enumerate(pieces)}
        rows, how = logit_match_rows(model_dir, real, by_id, extension.base, extension.extended, corpus or (),
                                     start_id=start if isinstance(start, int) else None, progress=progress)
    else:
        rows, how = init_rows(out_method, real, pieces, seed=seed + 1, initializer_range=init_range)
    counts["init_output_counts"] = how
    grown = grow_matrix(old_out, layout, rows, row_mean(real))
    if untie:
        add[_output_name(ckpt)] = grown
    else:
        replace[ckpt.output_name] = grown  # type: ignore[index]
    return replace, add


def _output_name(ckpt: Checkpoint) -> str:
    """The state-dict name of the head of this architecture, found on a weightless (meta) instance."""
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(str(ckpt.path))
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    head = model.get_output_embeddings()
    for name, module in model.named_modules():
        if module is head:
            return f"{name}.weight"
    raise ModelError(f"{ckpt.path}: cannot find the output head's name to untie it", hint="use the same --init for both sides")


def _write_config(ckpt: Checkpoint, out_dir: Path, layout: Layout, untie: bool) -> None:
    config = dict(ckpt.config)
    config["vocab_size"] = layout.rows_new
    if untie:
        config["tie_word_embeddings"] = False
    (out_dir / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _carry_files(model_dir: Path, out_dir: Path) -> list[str]:
    """Generation config and chat template from BASE; a chat template also when the tokenizer side lacks one."""
    carried = []
    for name in CARRIED_FILES:
        if (model_dir / name).is_file() and not (out_dir / name).exists():
            shutil.copyfile(model_dir / name, out_dir / name)
            carried.append(name)
    template = _base_chat_template(model_dir)
    has_template = (out_dir / "chat_template.jinja").exists() or "chat_template" in _read_json(out_dir / "tokenizer_config.json")
    if template and not has_template:
        (out_dir / "chat_template.jinja").write_text(template, encoding="utf-8")
        carried.append("chat_template.jinja")
    return carried


def _base_chat_template(model_dir: Path) -> str | None:
    if (model_dir / "chat_template.jinja").is_file():
        return (model_dir / "chat_template.jinja").read_text(encoding="utf-8")
    template = _read_json(model_dir / "tokenizer_config.json").get("chat_template")
    return template if isinstance(template, str) else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
