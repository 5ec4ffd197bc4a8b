# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make demo   - venv, install the package and its cli extra only, one glm-chat turn with a tool call
#                 (real API if ZAI_API_KEY is set, else the bundled local GLM server)
#   make test   - venv, install, lint, type check, the test suite in parallel (all but `load`)
#   make test-load - the heavy load and soak tests (`-m load`); CI runs it after `make test`
#   make test-packaging - the built wheel in a fresh venv, and the lowest declared versions
#   make chat   - the interactive terminal chat (glm-chat)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The demo needs only the package and its cli extra (rich); the dev install includes both, so it
# also stamps the demo install, while a demo install alone leaves `make test` to add the dev group.
DEMO_STAMP := $(VENV)/.installed-cli
DEMO_QUESTION := Use the calculator to work out "17 * 23 + 4", then say in one sentence how you got it.

.PHONY: demo chat test test-load lint format type unit live bench fuzz clean dist-check test-packaging

# uv (bootstrapped into the venv with pip) installs the dev group in seconds, byte-compiled once
# (else every test worker compiles the same modules); plain pip if
# uv cannot be had for this platform.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	( $(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.8" \
	  && $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e . --group dev ) \
	|| ( $(BIN)/python -m pip install --quiet --upgrade "pip>=25.1" \
	  && $(BIN)/python -m pip install --quiet -e . --group dev )
	touch $(STAMP) $(DEMO_STAMP)

$(DEMO_STAMP): pyproject.toml
	@echo "Installing langchain-glm[cli] into $(VENV) (first run only) ..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[cli]"
	@touch $(DEMO_STAMP)

# glm-chat says in its first line whether it talks to the real API or runs offline.
demo: $(DEMO_STAMP)
	@$(BIN)/glm-chat --tools --thinking --once '$(DEMO_QUESTION)'

chat: $(DEMO_STAMP)
	@$(BIN)/glm-chat --tools

# Two pytest-xdist workers per core: many tests wait on subprocesses, pseudo-terminals or a
# server's pacing rather than compute (2 cores: 72 s with 4 workers, 106 s with 2).
# -rs prints why each skipped test skipped.
WORKERS ?= $(shell $(PYTHON) -c "import os; print(2 * (os.cpu_count() or 1))")
test: lint type dist-check
	$(BIN)/python -m pytest tests -q -n $(WORKERS) -rs -m "not load"

test-load: $(STAMP)
	$(BIN)/python -m pytest tests -q -rs -m load

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

# The import figure is taken in a venv holding only the package and its runtime dependencies
# (RUNTIME), reinstalled from this tree and byte-compiled on every run, as a wheel install is.
RUNTIME := .venv-runtime
bench: $(STAMP)
	@test -x $(RUNTIME)/bin/python || $(PYTHON) -m venv $(RUNTIME)
	@if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install --quiet --python $(RUNTIME)/bin/python \
	  --compile-bytecode --reinstall-package langchain-glm . ; \
	else $(RUNTIME)/bin/python -m pip install --quiet --force-reinstall --no-deps . \
	  && $(RUNTIME)/bin/python -m pip install --quiet . ; fi
	$(BIN)/python -m tests.bench.bench --import-python $(RUNTIME)/bin/python $(BENCH_ARGS)
	$(BIN)/python -m tests.bench.embeddings

# Fresh random examples for the stream property tests (the suite replays a fixed set).
fuzz: $(STAMP)
	HYPOTHESIS_EXAMPLES=$${HYPOTHESIS_EXAMPLES:-5000} $(BIN)/python -m pytest -q \
		tests/unit_tests/test_properties.py

live: $(STAMP)
	$(BIN)/python -m pytest tests -q -m live

# Packaging (uv builds and makes the throwaway venvs). dist-check, part of `make test`: the sdist
# and wheel build and their metadata passes `twine check`. test-packaging, which .ci/run runs
# after `make test`: the wheel installs into a fresh venv and answers offline calls
# (tests/packaging/wheel_smoke.py, run from outside the checkout), and the unit tests pass on the
# lowest versions the package declares (`--resolution lowest-direct`, extras included).
PKG_TMP := $(or $(TMPDIR),/tmp)/langchain-glm-packaging
UV ?= $(BIN)/uv
FLOOR_NAMES := ("langchain-core", "httpx", "h11", "pydantic", "jsonschema", "rich")

dist-check: $(STAMP)
	@rm -rf $(PKG_TMP)/dist
	$(UV) build --quiet --out-dir $(PKG_TMP)/dist
	$(BIN)/twine check --strict $(PKG_TMP)/dist/*
	@for f in Makefile .ci/run README.md; do tar -tzf $(PKG_TMP)/dist/*.tar.gz | \
		grep -qx "langchain_glm-[^/]*/$$f" || { echo "sdist lacks $$f"; exit 1; }; done

test-packaging: dist-check
	@rm -rf $(PKG_TMP)/wheel-venv $(PKG_TMP)/floor-venv
	$(UV) venv --quiet --python $(BIN)/python $(PKG_TMP)/wheel-venv
	VIRTUAL_ENV=$(PKG_TMP)/wheel-venv $(UV) pip install --quiet $(PKG_TMP)/dist/*.whl
	cd $(PKG_TMP) && wheel-venv/bin/python $(CURDIR)/tests/packaging/wheel_smoke.py
	$(UV) venv --quiet --python $(BIN)/python $(PKG_TMP)/floor-venv
	VIRTUAL_ENV=$(PKG_TMP)/floor-venv $(UV) pip install --quiet --resolution lowest-direct \
		-e ".[cli,jsonschema]" --group test-floor
	$(PKG_TMP)/floor-venv/bin/python -c 'from importlib.metadata import version as v; \
		print("lowest:", *(f"{n}=={v(n)}" for n in $(FLOOR_NAMES)))'
	$(PKG_TMP)/floor-venv/bin/python -m pytest tests/unit_tests -q
	@rm -rf $(PKG_TMP)

clean:
	rm -rf $(VENV) $(RUNTIME) build dist .mypy_cache .ruff_cache .pytest_cache $(PKG_TMP)
