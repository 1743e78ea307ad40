"""llama.cpp as a runtime, through llama-cpp-python (the `gguf` extra): load a GGUF (vocabulary only, or the whole
model on the CPU), tokenize and detokenize exactly as llama.cpp does, and decode greedily."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from vocabx.errors import MissingDependencyError, ModelError

log = logging.getLogger(__name__)

EXTRA_HINT = "pip install 'vocabx[gguf]' (builds llama-cpp-python from its sdist: cmake and a C++ compiler)"


def llama_cpp_available() -> bool:
    """Whether llama-cpp-python is installed (importing it loads the shared library, so it is checked by spec)."""
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


class LlamaRuntime:
    """One GGUF loaded by llama.cpp. `vocab_only` loads no tensors: tokenization in milliseconds."""

    def __init__(self, path: str | Path, vocab_only: bool = True, n_ctx: int = 512, threads: int | None = None) -> None:
        if not llama_cpp_available():
            raise MissingDependencyError("llama-cpp-python", "checking a model in llama.cpp")
        import llama_cpp

        with _quiet():
            try:
                self.llm = llama_cpp.Llama(str(path), vocab_only=vocab_only, n_ctx=n_ctx, verbose=False,
                                           n_threads=threads or max(1, (os.cpu_count() or 1)), logits_all=False)
            except (ValueError, RuntimeError) as exc:
                raise ModelError(f"llama.cpp cannot load {path}: {exc}", hint="re-export it with vocabx export gguf") from exc
        self.path = Path(path)

    @property
    def n_vocab(self) -> int:
        return int(self.llm.n_vocab())

    def tokenize(self, text: str) -> list[int]:
        """Token ids of `text` with no BOS; the text of added/special tokens becomes those tokens, as Hugging Face
        tokenizers always match added tokens (even with add_special_tokens=False)."""
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def detokenize(self, ids: Sequence[int]) -> bytes:
        """The bytes llama.cpp emits for `ids` (a token may end inside a UTF-8 character, so: bytes).

        Read piece by piece with `llama_token_to_piece`, growing the buffer when llama.cpp asks for more, as its
        own `common_token_to_piece` does: llama-cpp-python's `detokenize` uses a fixed 32-byte buffer and returns
        nothing for a longer piece (an 11-character Chinese term is 33 bytes;
        https://github.com/abetlen/llama-cpp-python/issues/2362)."""
        import ctypes

        import llama_cpp

        vocab = self.llm._model.vocab
        out = bytearray()
        for token in ids:
            size = 64
            while True:
                buffer = (ctypes.c_char * size)()
                n = llama_cpp.llama_token_to_piece(vocab, llama_cpp.llama_token(int(token)), buffer, size, 0, False)
                if n >= 0:
                    out += buffer.raw[:n]
                    break
                size = -n  # llama.cpp returns minus the size it needs
        return bytes(out)

    def greedy(self, prompt: Sequence[int], n_tokens: int) -> list[int]:
        """The `n_tokens` ids llama.cpp picks greedily (argmax) after `prompt`."""
        out: list[int] = []
        self.llm.reset()
        with _quiet():  # the first decode logs the context set-up from C
            for token in self.llm.generate(list(prompt), temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
                out.append(int(token))
                if len(out) >= n_tokens:
                    break
        return out

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.llm.close()


@contextlib.contextmanager
def _quiet():
    """llama.cpp logs to stderr from C; silence it at the file descriptor while a model loads."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
