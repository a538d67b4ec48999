# AI-on: `make run` sets everything up and starts the app with demo data; `make test` runs the tests.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run install install-dev test lint typecheck pytest clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q --no-compile -e ".[train]"

install-dev: $(BIN)/python
	$(BIN)/pip install -q --no-compile -e ".[dev]"

run: install
	AION_ENV=$${AION_ENV:-development} $(BIN)/aion db upgrade
	AION_ENV=$${AION_ENV:-development} $(BIN)/aion demo load --if-empty
	AION_ENV=$${AION_ENV:-development} AION_LINE_DEMO=$${AION_LINE_DEMO:-1} $(BIN)/aion serve --host $(HOST) --port $(PORT)

lint:
	$(BIN)/ruff check aion tests bench
	$(BIN)/ruff format --check aion tests bench

typecheck:
	$(BIN)/mypy

# two workers (pytest-xdist; each its own PostgreSQL database); PYTEST_WORKERS=0 runs serially
# (a third worker on two cores was measured slower: the training jobs' workers then contend)
PYTEST_WORKERS ?= 2
pytest:
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadgroup

test: install-dev lint typecheck pytest

clean:
	rm -rf $(VENV) aion-data
