# Two entry points for a fresh machine with only Python 3.11+ and make:
#   make demo   runs every runbook against the embedded emulators
#   make test   runs the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The official Arize SDK and ax CLI, to check the emulator against: their own venv, because
# they would downgrade packages Prefect needs.
FIDELITY := .venv-fidelity

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(FIDELITY)/.installed:
	$(PYTHON) -m venv $(FIDELITY)
	$(FIDELITY)/bin/python -m pip install --quiet 'arize==8.61.0' 'arize-ax-cli==0.39.0'
	touch $@

demo: $(STAMP)
	$(BIN)/arize-runbooks demo

test: $(STAMP) $(FIDELITY)/.installed
	$(BIN)/ruff check .
	FIDELITY_REQUIRED=1 $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(FIDELITY) .pytest_cache .ruff_cache
