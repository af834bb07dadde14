PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,dagster]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/callsync demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -rs tests  # -rs: say which tests were skipped and why (no PostgreSQL server)

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) callsync-demo.duckdb callsync-demo.pipelines .pytest_cache
