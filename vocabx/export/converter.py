"""llama.cpp's own converter (`convert_hf_to_gguf.py`, its `conversion/` package and `gguf-py/`): found on disk,
and run in a subprocess that is told the pre-tokenizer type instead of guessing it from a hash.

The converter recognizes a BPE pre-tokenizer by hashing the tokenization of a fixed text, and an extended
vocabulary changes that tokenization, so it refuses vocabx models ("BPE pre-tokenizer was not recognized";
https://github.com/ggml-org/llama.cpp/issues/8649, https://github.com/ggml-org/llama.cpp/issues/9927). Told the base's
type (recorded by `vocabx extend`), it converts them as any other.

Where it comes from: the llama-cpp-python sdist ships llama.cpp's tree under `vendor/llama.cpp/`; `make install`
runs `python -m vocabx.export.converter unpack SDIST`, which keeps the converter's files under
`<venv>/share/vocabx/llama.cpp`. `--converter DIR` or `$VOCABX_LLAMA_CPP` name any llama.cpp checkout instead.
"""

from __future__ import annotations

import logging
import os
import runpy
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from vocabx.errors import MissingDependencyError, ModelError

log = logging.getLogger(__name__)

CONVERTER_ENV = "VOCABX_LLAMA_CPP"
SCRIPT = "convert_hf_to_gguf.py"
# What the converter needs from llama.cpp's tree (the rest, C++ sources, is what llama-cpp-python compiles).
KEEP = (SCRIPT, "conversion/", "gguf-py/")
SDIST_ROOT = "vendor/llama.cpp/"


def default_location() -> Path:
    """Where `unpack` puts the converter: beside the Python environment vocabx runs in."""
    return Path(sys.prefix) / "share" / "vocabx" / "llama.cpp"


def find_converter(explicit: str | Path | None = None) -> Path:
    """The llama.cpp directory holding convert_hf_to_gguf.py: `explicit`, $VOCABX_LLAMA_CPP, or the unpacked one."""
    candidates = [Path(p).expanduser() for p in (explicit, os.environ.get(CONVERTER_ENV)) if p]
    candidates.append(default_location())
    for path in candidates:
        if (path / SCRIPT).is_file():
            return path.resolve()
    if explicit:
        raise ModelError(f"{explicit} holds no {SCRIPT}", hint="pass --converter a llama.cpp checkout")
    error = MissingDependencyError("llama.cpp's convert_hf_to_gguf.py", "exporting Hugging Face weights to GGUF")
    error.hint = (f"run `make install-gguf` (unpacks it from the llama-cpp-python sdist into {default_location()}), "
                  f"or pass --converter DIR / set ${CONVERTER_ENV} to a llama.cpp checkout")
    raise error


def unpack_sdist(sdist: str | Path, target: str | Path | None = None) -> Path:
    """Extract the converter's files from a llama-cpp-python sdist into `target` (atomically); return it."""
    target = Path(target) if target else default_location()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".llama.cpp-", dir=target.parent))
    try:
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                inner = member.name.split("/", 1)[1] if "/" in member.name else ""
                if not inner.startswith(SDIST_ROOT) or not (member.isfile() or member.isdir()):
                    continue
                rel = inner[len(SDIST_ROOT):]
                if rel and any(rel == k or rel.startswith(k) for k in KEEP):
                    member.name = rel
                    tar.extract(member, tmp, filter="data")
        if not (tmp / SCRIPT).is_file():
            raise ModelError(f"{sdist} has no {SDIST_ROOT}{SCRIPT}", hint="use a llama-cpp-python sdist (.tar.gz)")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def run_converter(model_dir: Path, out_file: Path, outtype: str, pre: str | None, converter: Path,
                  vocab_only: bool = False) -> float:
    """Convert `model_dir` to `out_file` with llama.cpp's converter, told `pre` (None: let it hash); seconds."""
    args = [str(model_dir), "--outfile", str(out_file), "--outtype", outtype, *(["--vocab-only"] if vocab_only else [])]
    cmd = [sys.executable, "-m", "vocabx.export.converter", "run", pre or "", str(converter / SCRIPT), *args]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0 or not out_file.is_file():
        last = [line for line in proc.stderr.splitlines() if line.strip()][-1:] or ["no output"]
        raise ModelError(f"llama.cpp's converter failed on {model_dir}: {last[0][:300]}",
                         hint="run with -v to see its log; --outtype base copies a GGUF base's tensors instead")
    log.debug("converter log:\n%s", proc.stderr[-4000:])
    return round(seconds, 2)


def _run_told(pre: str, script: str, args: list[str]) -> None:
    """In the subprocess: llama.cpp's gguf-py and conversion/ first on the path, the pre-tokenizer told, then the
    converter's own main()."""
    root = Path(script).resolve().parent
    sys.path[:0] = [str(root / "gguf-py"), str(root)]
    if pre:
        import conversion.base as base  # llama.cpp's module, from `root`

        base.TextModel.get_vocab_base_pre = lambda self, tokenizer: pre
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")


def main(argv: list[str]) -> int:
    """`unpack SDIST [TARGET]` or `run PRE SCRIPT ARGS...` (the subprocess side of `run_converter`)."""
    if len(argv) >= 2 and argv[0] == "unpack":
        print(unpack_sdist(argv[1], argv[2] if len(argv) > 2 else None))
        return 0
    if len(argv) >= 3 and argv[0] == "run":
        _run_told(argv[1], argv[2], argv[3:])
        return 0
    print("usage: python -m vocabx.export.converter unpack SDIST [TARGET] | run PRE SCRIPT ARGS...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
