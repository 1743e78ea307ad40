"""tiktoken rank files (`*.tiktoken`: base64 token and rank per line), e.g. Qwen2/2.5/3's 151,643-rank BPE,
converted to a byte-level BPE `tokenizer.json` with the model's split regex and special tokens.
"""

from __future__ import annotations

import json
from pathlib import Path

from vocabx.errors import TokenizerError, require

# Qwen2/2.5/3 split pattern and the special tokens that follow the 151,643 ranks (Qwen2 tokenizer_config.json).
QWEN2_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
QWEN2_SPECIALS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>",
    "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
)


def tiktoken_to_json(path: str | Path, pattern: str = QWEN2_PATTERN, specials: tuple[str, ...] = QWEN2_SPECIALS) -> str:
    """tokenizer.json text for a tiktoken rank file (the Qwen2 pattern and specials unless given)."""
    require("tiktoken", "reading .tiktoken files")
    from transformers.integrations.tiktoken import TikTokenConverter

    try:
        converter = TikTokenConverter(vocab_file=str(path), pattern=pattern, additional_special_tokens=list(specials))
        tok = converter.converted()
        # The converter leaves the specials out of the backend tokenizer; they follow the ranks, ids in order.
        tok.add_special_tokens(list(specials))
    except Exception as exc:
        raise TokenizerError(
            f"could not convert {path} from tiktoken format: {str(exc).splitlines()[0][:200]}",
            hint="a .tiktoken file has one 'base64-token rank' pair per line",
        ) from exc
    return json.dumps(json.loads(tok.to_str()), ensure_ascii=False)
