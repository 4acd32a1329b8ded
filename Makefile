# Two entry points for a fresh machine with only Python 3.11+ and make:
#   make demo   runs every runbook against the embedded emulators
#   make test   runs the test suite
# and, while working, `make check`: ruff plus the fast tier (docs/testing.md), under a minute.
# The interpreter the venvs are made from. A CPython built with profile-guided and link-time
# optimisation (Debian's; pyenv's only when asked) ran the suite on 7-13 % less CPU here:
# `make clean`, then `make PYTHON=/usr/bin/python3.11 test` (docs/testing.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The official Arize SDK and ax CLI, to check the emulator against: their own venv, because
# they would downgrade packages Prefect needs.
FIDELITY := .venv-fidelity

# Python keeps its bytecode in __pycache__ (git ignores it), even where the environment says
# not to: every test process compiles the project and rewrites the test modules otherwise, and
# `make check` took 76.7-82.8 s against 69.0-70.8 s with the caches (docs/testing.md).
unexport PYTHONDONTWRITEBYTECODE

# pytest-xdist workers for `make test`. More than the two cores pay: most tests wait on
# servers, workers and polls rather than compute (docs/testing.md has the measurements).
TEST_WORKERS ?= 4

.PHONY: demo test check lint bench clean

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

# The whole suite, every real part included, spread over xdist workers module by module; the
# tests that share a stack (the HA and UI groups of tests/conftest.py) run on one worker. The
# solo tests, which stop and restart processes within time bounds, run at the same time in a
# pytest of their own, two at a time: they mostly wait (for Prefect's heartbeats, restarts and
# sweeps), so beside the rest they cost the run less than after it (docs/testing.md). Their
# report is printed once both are done; the target fails if either part failed. On a fresh
# clone the two venvs install side by side (about 20 s each, one core each).
test:
	@$(MAKE) --no-print-directory -j2 $(STAMP) $(FIDELITY)/.installed
	$(BIN)/ruff check .
	@solo_log=$$(mktemp); \
	FIDELITY_REQUIRED=1 $(BIN)/python -m pytest -n 2 --dist loadscope --no-loadscope-reorder \
		-m solo --durations=10 >"$$solo_log" 2>&1 & solo=$$!; \
	trap 'kill $$solo 2>/dev/null' INT TERM; \
	FIDELITY_REQUIRED=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope \
		--no-loadscope-reorder -m 'not solo' --durations=20; rest=$$?; \
	wait $$solo; solo_rc=$$?; \
	echo; echo "=== the solo tests (tests/conftest.py SOLO_MODULES), run beside the rest ==="; \
	cat "$$solo_log"; rm -f "$$solo_log"; \
	echo "make test: the rest exited $$rest, the solo tests $$solo_rc"; \
	[ $$rest -eq 0 ] && [ $$solo_rc -eq 0 ]

# The fast tier: tests that need no server, database, browser or subprocess (marked `check`
# by tests/conftest.py), each served inside the test process, on two xdist workers. Its tests
# compute rather than wait, so the second core pays for the second worker's own start (each
# imports and collects the suite, about 15 CPU-s) with time to spare: docs/testing.md has the
# figures. CHECK_WORKERS=0 runs it in one process (a debugger, -x).
CHECK_WORKERS ?= 2

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m check -q -n $(CHECK_WORKERS) --dist loadscope

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(FIDELITY) .pytest_cache .ruff_cache
