# Fordra: the README's two commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
DATA_DIR ?= var
# Re-install only when the dependency files change; the stamp records that.
STAMP := $(VENV)/.installed

.PHONY: run test lint fmt typecheck unit bench up down clean

$(STAMP): pyproject.toml constraints.txt setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/fordra run --demo --data-dir $(DATA_DIR) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/typecheck_tree.py >/dev/null
	# import-linter reads the symlink tree too: the editable finder hides the mapped folders from it
	PYTHONPATH=build/typecheck $(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/python scripts/typecheck_tree.py >/dev/null
	cd build/typecheck && ../../$(BIN)/mypy --config-file ../../pyproject.toml -p fordra

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/fordra bench appends --json build/bench-appends.json

# The distributed engine on this machine: PostgreSQL, Kafka (KRaft) and one process per service.
up: $(STAMP)
	bash deploy/kafka/fetch-jars.sh >/dev/null
	$(BIN)/fordra cluster up --data-dir var/cluster --port $(PORT)

down: $(STAMP)
	$(BIN)/fordra cluster down --data-dir var/cluster

clean:
	rm -rf build .mypy_cache .pytest_cache .ruff_cache
