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

# pip leaves the byte-compiling to compileall, which uses both cores; the compiled files matter
# where PYTHONDONTWRITEBYTECODE is set (as on our CI machines): without them every command, job
# and test process compiles SQLAlchemy, pydantic and torch again (`aion company list`: 3.4 s
# instead of 1.5). A module of torch's written for a newer Python fails to compile: harmless.
COMPILE = $(BIN)/python -m compileall -qq -j 0 $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') aion || true

install: $(BIN)/python
	$(BIN)/pip install -q --no-compile -e ".[train]"
	$(COMPILE)

install-dev: $(BIN)/python
	$(BIN)/pip install -q --no-compile -e ".[dev]"
	$(COMPILE)

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
