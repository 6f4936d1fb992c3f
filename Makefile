# One entry point for people and CI: `make demo`, `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint typecheck pytest pytest-postgresql bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

demo: $(STAMP)
	$(BIN)/diandan demo $(if $(PORT),--port $(PORT),)

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Tests run in as many worker processes as the machine has cores (pytest-xdist, at most 4):
# each test owns its temp files and ports; on PostgreSQL each worker starts its own server.
PYTEST := $(BIN)/pytest -q -n auto --maxprocesses 4

pytest: $(STAMP)
	$(PYTEST)

# The same suite on PostgreSQL: a throwaway server the tests start (skipped, with the reason,
# where Debian's postgresql package is not installed).
pytest-postgresql: $(STAMP)
	DIANDAN_TEST_BACKEND=postgresql $(PYTEST)

test: lint typecheck pytest pytest-postgresql

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
