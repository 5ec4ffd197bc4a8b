# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make demo   - venv, install, run the demo (real API if ZAI_API_KEY is set, else the local GLM server)
#   make test   - venv, install, lint, type check, the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format type unit e2e live bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m langchain_glm.demo

test: lint type
	$(BIN)/python -m pytest tests -q

lint: $(STAMP)
	$(BIN)/ruff check langchain_glm tests
	$(BIN)/ruff format --check langchain_glm tests

format: $(STAMP)
	$(BIN)/ruff format langchain_glm tests
	$(BIN)/ruff check --fix langchain_glm tests

type: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit_tests -q

bench: $(STAMP)
	$(BIN)/python -m tests.bench.bench

live: $(STAMP)
	$(BIN)/python -m pytest tests -q -m live

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
