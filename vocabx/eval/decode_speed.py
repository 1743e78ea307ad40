"""Decoding speed: greedy generation of a fixed number of new tokens from fixed domain prompts, timed.

Characters per second is the figure that compares across tokenizers: a model whose tokens carry more text
writes more characters per forward step. Tokens per second is reported too (it shows the cost of a larger head).
Every prompt gets exactly N new tokens (end-of-sequence is suppressed), so base and extended do the same number
of forward steps on the same prompt text.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from transformers import GenerationConfig, PreTrainedModel

log = logging.getLogger(__name__)

WARMUP_TOKENS = 2  # one short untimed generation first: lazy initialisation and allocator growth are not timed


@dataclass
class DecodeSpeed:
    """Totals over all prompts; the generated ids and texts are kept for the new-token usage figures."""

    prompts: int
    new_tokens: int
    chars: int
    seconds: float
    ids: list[list[int]] = field(default_factory=list, repr=False)
    texts: list[str] = field(default_factory=list, repr=False)

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.seconds if self.seconds > 0 else math.nan

    @property
    def chars_per_s(self) -> float:
        return self.chars / self.seconds if self.seconds > 0 else math.nan

    @property
    def chars_per_token(self) -> float:
        return self.chars / self.new_tokens if self.new_tokens else math.nan

    def as_dict(self) -> dict[str, float | int]:
        return {"prompts": self.prompts, "new_tokens": self.new_tokens, "chars": self.chars,
                "seconds": round(self.seconds, 6), "tokens_per_s": self.tokens_per_s, "chars_per_s": self.chars_per_s,
                "generated_chars_per_token": self.chars_per_token}


def domain_prompts(texts: Sequence[str], n: int, chars: int) -> list[str]:
    """The first `chars` characters of the first `n` non-blank texts: fixed, so every model gets the same prompts.

    >>> domain_prompts(["", "abcdef", "xyz"], n=2, chars=3)
    ['abc', 'xyz']
    """
    out = [t.strip()[:chars] for t in texts if t.strip()]
    return out[:n]


def measure_decode(
    model: PreTrainedModel,
    encode: Callable[[str], list[int]],
    decode: Callable[[list[int]], str],
    prompts: Sequence[str],
    new_tokens: int,
    *,
    start_id: int,
    eos_id: int | None,
    progress: bool = False,
    desc: str = "decoding speed",
) -> DecodeSpeed:
    """Generate `new_tokens` greedily after each prompt (start token + its ids), one prompt at a time, timed."""
    gen = GenerationConfig(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                           eos_token_id=eos_id, pad_token_id=eos_id if eos_id is not None else start_id)
    inputs = [torch.tensor([[start_id, *encode(p)]]) for p in prompts]
    if inputs:
        _generate(model, inputs[0], gen, WARMUP_TOKENS)
    result = DecodeSpeed(prompts=len(inputs), new_tokens=0, chars=0, seconds=0.0)
    items = inputs
    if progress:
        from tqdm import tqdm

        items = tqdm(inputs, desc=desc, unit="prompt")
    for ids in items:
        started = time.perf_counter()
        out = _generate(model, ids, gen, new_tokens)
        result.seconds += time.perf_counter() - started
        new = out[0, ids.shape[1]:].tolist()
        text = decode(new)
        result.ids.append(new)
        result.texts.append(text)
        result.new_tokens += len(new)
        result.chars += len(text)
    log.info("decoded %d tokens, %d chars in %.2f s", result.new_tokens, result.chars, result.seconds)
    return result


@torch.inference_mode()
def _generate(model: PreTrainedModel, ids: torch.Tensor, gen: GenerationConfig, n: int) -> torch.Tensor:
    gen = copy.deepcopy(gen)  # the warm-up and the timed runs differ only in length
    gen.max_new_tokens = gen.min_new_tokens = n
    # generate() comes from GenerationMixin, a base of every causal LM class but not of PreTrainedModel.
    return model.generate(  # type: ignore[operator]
        input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=gen)
