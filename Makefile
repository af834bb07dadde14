PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two installs: everything (tests, bench, every extra) and what `make demo` needs (the core, the simulator).
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
INSTALL = $(BIN)/pip install --quiet -c constraints.txt -e

.PHONY: demo test bench lint typecheck clean constraints

# constraints.txt: the exact versions the suite last passed with (regenerate: `make constraints`).
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(DEMO_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(INSTALL) '.[sim]'
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(INSTALL) '.[dev,sim,report,postgres,dagster]'
	touch $(STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/callsync demo

# worksteal: an idle worker takes queued tests from the busy one, so both finish together.
# -rs: list skipped tests and why (the PostgreSQL tests skip, saying so, when no server runs; CI=true fails them)
test: $(STAMP)
	$(BIN)/mypy pipelines
	$(BIN)/python -m pytest -n 2 --dist worksteal -rs tests

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy pipelines

constraints: $(STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v '^callsync' > constraints.txt

clean:
	rm -rf $(VENV) callsync-demo.duckdb callsync-demo.pipelines .pytest_cache
