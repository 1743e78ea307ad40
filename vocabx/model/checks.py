"""Checks run after surgery: old rows bit-identical, logits over the old vocabulary unchanged on text whose
tokenization did not change, and the output directory loading back through transformers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from vocabx.adapters.base import TokenizerAdapter
from vocabx.errors import ModelError
from vocabx.model.checkpoint import Checkpoint, read_checkpoint
from vocabx.model.layout import Layout
from vocabx.model.surgery import read_tensor
from vocabx.quiet import quiet_loading

log = logging.getLogger(__name__)

# Short texts for the logits check; the first whose tokenization the extension left unchanged is used.
PROBE_TEXTS = (
    "The patient was given 5 mg twice a day, and the fever went down.",
    "Hello, world! This is a short test of the old vocabulary.",
    "a b c d e f g 1 2 3",
)


def check_old_rows(base: Checkpoint, out_dir: Path, layout: Layout) -> dict[str, Any]:
    """Every real old row, and every padding row left unused, is bit-identical to the base; raise if not."""
    out = read_checkpoint(out_dir)
    pairs = [(base.input_name, out.input_name)]
    if base.output_name is not None and out.output_name is not None:
        pairs.append((base.output_name, out.output_name))
    for base_name, out_name in pairs:
        old, new = read_tensor(base, base_name), read_tensor(out, out_name)
        kept = [(0, layout.n_base), (layout.n_new_vocab, layout.rows_old)]
        for start, end in kept:
            if end > start and not torch.equal(old[start:end].view(torch.uint8), new[start:end].view(torch.uint8)):
                raise ModelError(f"internal: rows {start}..{end} of {out_name} differ from the base", hint="report this bug")
    return {"old_rows_identical": True, "old_rows_checked": layout.n_base + layout.padding_kept}


def check_forward(
    base_dir: Path, out_dir: Path, base_tok: TokenizerAdapter, ext_tok: TokenizerAdapter, n_old: int
) -> dict[str, Any]:
    """Load both models, run a probe text whose tokenization is unchanged, compare logits over the old vocab."""
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(str(out_dir))
        with quiet_loading():
            extended = AutoModelForCausalLM.from_pretrained(str(out_dir), dtype="auto").eval()
    except Exception as exc:
        raise ModelError(f"internal: the output does not load with transformers: {exc}", hint="report this bug") from exc
    result: dict[str, Any] = {"config_loads": True, "model_loads": True, "vocab_size": config.vocab_size}
    text = next((t for t in PROBE_TEXTS if base_tok.encode(t) == ext_tok.encode(t)), None)
    if text is None:
        result["logits_check"] = "skipped: every probe text tokenizes differently after the extension"
        return result
    ids = torch.tensor([base_tok.encode(text)])
    with quiet_loading():
        base = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype="auto").eval()
    with torch.inference_mode():
        new_logits = extended(input_ids=ids).logits[0, :, :n_old].float()
        old_logits = base(input_ids=ids).logits[0, :, :n_old].float()
    diff = float((new_logits - old_logits).abs().max())
    tol = (1e-4 if extended.dtype == torch.float32 else 1e-2) * max(1.0, float(old_logits.abs().max()))
    if diff > tol:
        raise ModelError(
            f"internal: logits over the old vocabulary changed by {diff:.3g} on unchanged text", hint="report this bug"
        )
    result.update(logits_check="passed", logits_max_abs_diff=diff, logits_probe_tokens=ids.shape[1])
    return result


def check_tokenizer_loads(out_dir: Path, expected: int) -> dict[str, Any]:
    """AutoTokenizer loads OUT's tokenizer files (when there are any) with the extended vocabulary size."""
    if not any((out_dir / f).is_file() for f in ("tokenizer.json", "tokenizer.model", "vocab.txt")):
        return {"tokenizer_check": "skipped: no tokenizer files in the output yet"}
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(out_dir))
    if len(tok) != expected:
        raise ModelError(f"the saved tokenizer has {len(tok)} tokens, expected {expected}", hint="report this bug")
    return {"tokenizer_check": "passed"}
