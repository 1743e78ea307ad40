"""Conformance with llama.cpp, checked on the files a user would deploy: the exported GGUF tokenizes every text
exactly as the Hugging Face tokenizer does, each new token detokenizes to its own text, and a short greedy
generation in llama.cpp picks the same tokens as transformers (float32 on both sides)."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vocabx.adapters.base import TokenizerAdapter
from vocabx.export.runtime import LlamaRuntime
from vocabx.extend.verify import MAX_EXAMPLES, Check
from vocabx.quiet import quiet_loading

log = logging.getLogger(__name__)

GENERATE_PROMPT_TOKENS = 24  # longest prompt of a generation probe: enough context, short enough to be quick
MIN_PROMPT_TOKENS = 4


def runtime_checks(extended_dir: Path, extended: TokenizerAdapter, corpora: dict[str, Sequence[str]],
                   new_ids: Sequence[int], generate_tokens: int = 8, pre: str | None = None,
                   converter: str | None = None) -> list[Check]:
    """Export EXTENDED to a temporary GGUF and run every llama.cpp check on it."""
    from vocabx.export.config import GGUFExportConfig
    from vocabx.export.to_gguf import _has_weights, export_gguf

    with tempfile.TemporaryDirectory(prefix="vocabx-llama-") as tmp:
        vocab = Path(tmp) / "vocab.gguf"
        export_gguf(GGUFExportConfig(model=str(extended_dir), out=str(vocab), vocab_only=True, pre=pre, converter=converter))
        runtime = LlamaRuntime(vocab, vocab_only=True)
        checks = [tokenization_check(runtime, extended, corpora), detokenize_check(runtime, extended, new_ids)]
        runtime.close()
        if generate_tokens > 0 and _has_weights(extended_dir):
            model = Path(tmp) / "model-f32.gguf"
            export_gguf(GGUFExportConfig(model=str(extended_dir), out=str(model), outtype="f32", pre=pre,
                                         converter=converter))
            checks.append(generation_check(model, extended_dir, extended, corpora, generate_tokens))
    return checks


def tokenization_check(runtime: LlamaRuntime, reference: TokenizerAdapter, corpora: dict[str, Sequence[str]],
                       name: str = "llama_cpp_tokenize") -> Check:
    """llama.cpp's ids equal the reference tokenizer's on every document of every corpus."""
    figures: dict[str, Any] = {}
    examples: list[str] = []
    compared = identical = 0
    for corpus, docs in corpora.items():
        docs = list(docs)
        ours = reference.encode_batch(docs)
        same = 0
        for doc, ids in zip(docs, ours):
            if runtime.tokenize(doc) == ids:
                same += 1
            elif len(examples) < MAX_EXAMPLES:
                examples.append(f"{corpus}: {doc[:60]!r}")
        figures[corpus] = {"docs": len(docs), "identical": same}
        compared, identical = compared + len(docs), identical + same
    figures["examples"] = examples
    summary = f"{identical}/{compared} documents tokenize identically in llama.cpp ({', '.join(corpora)})"
    return Check(name, identical == compared if compared else None, summary, figures)


def token_bytes(adapter: TokenizerAdapter, token_id: int) -> bytes:
    """The bytes one token stands for: byte-level strings mapped back to bytes, `▁` read as a space."""
    token = adapter.id_to_token(token_id) or ""
    if adapter.family == "bytelevel-bpe":
        decode = {c: b for b, c in adapter._byte_encoder.items()}  # type: ignore[attr-defined]
        return bytes(decode[c] for c in token)
    return token.replace("▁", " ").encode("utf-8")


def detokenize_check(runtime: LlamaRuntime, extended: TokenizerAdapter, new_ids: Sequence[int]) -> Check:
    """Each new token, detokenized alone by llama.cpp, gives exactly the text it stands for."""
    if not new_ids:
        return Check("llama_cpp_detokenize", None, "no new tokens")
    wrong = [i for i in new_ids if runtime.detokenize([i]) != token_bytes(extended, i)]
    examples = [f"{i}: {token_bytes(extended, i)!r} -> {runtime.detokenize([i])!r}" for i in wrong[:MAX_EXAMPLES]]
    return Check("llama_cpp_detokenize", not wrong, f"{len(new_ids) - len(wrong)}/{len(new_ids)} new tokens "
                 "detokenize to their text in llama.cpp", {"new": len(new_ids), "wrong": len(wrong), "examples": examples})


def generation_prompts(adapter: TokenizerAdapter, corpora: dict[str, Sequence[str]], per_corpus: int = 2) -> list[list[int]]:
    """The first (up to 24) tokens of the first documents of each corpus that have at least 4."""
    prompts = []
    for docs in corpora.values():
        long = [ids for ids in adapter.encode_batch(list(docs)[:50]) if len(ids) >= MIN_PROMPT_TOKENS]
        prompts += [ids[:GENERATE_PROMPT_TOKENS] for ids in long[:per_corpus]]
    return prompts


def generation_check(gguf_f32: Path, model_dir: Path, adapter: TokenizerAdapter, corpora: dict[str, Sequence[str]],
                     n_tokens: int) -> Check:
    """Greedy continuations of a few prompts: llama.cpp (f32 GGUF) and transformers (float32) pick the same ids."""
    import torch
    from transformers import AutoModelForCausalLM

    prompts = generation_prompts(adapter, corpora)
    if not prompts:
        return Check("llama_cpp_generate", None, f"no document gives a {MIN_PROMPT_TOKENS}-token prompt")
    with quiet_loading():
        model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    runtime = LlamaRuntime(gguf_f32, vocab_only=False, n_ctx=GENERATE_PROMPT_TOKENS + n_tokens + 8)
    same = 0
    examples: list[str] = []
    for prompt in prompts:
        theirs = _greedy(model, prompt, n_tokens)
        ours = runtime.greedy(prompt, n_tokens)
        same += ours == theirs
        if ours != theirs and len(examples) < MAX_EXAMPLES:
            examples.append(f"transformers {theirs} vs llama.cpp {ours}")
    runtime.close()
    return Check("llama_cpp_generate", same == len(prompts), f"{same}/{len(prompts)} greedy continuations of "
                 f"{n_tokens} tokens equal transformers' (f32)", {"prompts": len(prompts), "same": same,
                                                                  "tokens": n_tokens, "examples": examples})


def _greedy(model: Any, prompt: Sequence[int], n_tokens: int) -> list[int]:
    """Plain argmax decoding (no generation_config: no repetition penalty, no early stop at EOS)."""
    import torch

    ids = list(prompt)
    with torch.no_grad():
        for _ in range(n_tokens):
            ids.append(int(model(torch.tensor([ids])).logits[0, -1].argmax()))
    return ids[len(prompt):]
