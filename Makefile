PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean constraints

# constraints.txt: the exact versions the suite last passed with (regenerate: `make constraints`).
$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,dagster]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/callsync demo

# -rs: list skipped tests and why (the PostgreSQL tests skip, saying so, when no server runs; CI=true fails them)
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -rs tests

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .

constraints: $(STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v '^callsync' > constraints.txt

clean:
	rm -rf $(VENV) callsync-demo.duckdb callsync-demo.pipelines .pytest_cache
