# Fordra: the README's two commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
DATA_DIR ?= var
# uv installs the workspace exactly as uv.lock pins it (the lock is the one list of versions).
UV_VERSION := 0.13.9
UV := $(BIN)/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
# Re-install only when the dependency files change; the stamps record that. Two installs:
# RUN_STAMP, what running needs (the workspace and its dependencies, without the development
# group: no pytest, mypy, ruff, hypothesis, schemathesis, saxonche, ...), and STAMP, everything
# (the development group too), which the checks and the tests need. The run install is
# --inexact, so that `make run` after `make test` leaves the test tools in place.
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
MANIFESTS := pyproject.toml uv.lock $(wildcard */pyproject.toml shared/*/pyproject.toml services/*/pyproject.toml)

.PHONY: run test lint fmt typecheck unit bench up down clean install install-run

$(VENV)/bin/uv:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || $(BIN)/pip install --quiet uv==$(UV_VERSION)

$(STAMP): $(MANIFESTS) | $(VENV)/bin/uv
	$(UV) sync --frozen --all-packages --compile-bytecode --python $(BIN)/python
	@touch $(STAMP) $(RUN_STAMP)

$(RUN_STAMP): $(MANIFESTS) | $(VENV)/bin/uv
	$(UV) sync --frozen --all-packages --no-dev --inexact --compile-bytecode --python $(BIN)/python
	@touch $(RUN_STAMP)

install: $(STAMP)

install-run: $(RUN_STAMP)

# A first start makes the instance in DATA_DIR (absent or empty); a directory that holds
# something else than an instance is refused.
run: $(RUN_STAMP)
	$(BIN)/fordra run --demo --data-dir $(DATA_DIR) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The suite in two runs, each failing on its own (pytest's exit code 5, "no tests collected",
# included). The embedded engine's tests spread over PYTEST_WORKERS processes (pytest-xdist); the
# distributed engine's run in one process: they share one PostgreSQL server and one Kafka broker per
# session (tests/utils/servers.py), and the fault tests restart those. Bytecode of the workspace's
# own code is written first: the suite starts many Python processes (the CLI, `fordra serve`, the
# workers of the fault tests), and each would otherwise compile every module it imports again when
# the environment says not to write bytecode (PYTHONDONTWRITEBYTECODE); compileall writes it anyway.
PYTEST_WORKERS ?= 2
unit: $(STAMP)
	@$(BIN)/python -m compileall -q app/src shared services devtools tests
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m "not distributed"
	$(BIN)/pytest -m distributed

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/fordra-dev bench appends --json build/bench-appends.json

# The distributed engine on this machine: PostgreSQL, Kafka (KRaft) and one process per service.
up: $(STAMP)
	bash deploy/kafka/fetch-jars.sh >/dev/null
	$(BIN)/fordra-dev cluster up --data-dir var/cluster --port $(PORT)

down: $(STAMP)
	$(BIN)/fordra-dev cluster down --data-dir var/cluster

clean:
	rm -rf build .mypy_cache .pytest_cache .ruff_cache
