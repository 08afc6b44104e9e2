# abm — make targets. Each creates .venv on first use (Python 3.11 + PyPI only).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup demo test lint typecheck golden bench fixtures clean

help:  ## list targets
	@grep -E '^[a-z]+:.*##' Makefile | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "$(PY) not found; set PY=/path/to/python3.11"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

# abm is installed editable, so pip writes no bytecode for it; where PYTHONDONTWRITEBYTECODE is set (many
# containers) every run would compile its ~110 modules again (0.2 s CPU a run). compileall writes them
# once (and again only for changed files); the flag still keeps Python from writing bytecode at run time.
COMPILE := $(BIN)/python -m compileall -q abm

setup: $(STAMP)  ## create .venv and install abm with dev tools
	@$(COMPILE)

demo: $(STAMP)  ## run abm on the bundled demo world and score it against its truth
	@$(COMPILE)
	$(BIN)/abm run fixtures/demo --out abm-out
	$(BIN)/abm evaluate abm-out --truth fixtures/demo/truth

test: $(STAMP)  ## lint, type-check and run the test suite
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n auto  # both cores: the suite is CPU-bound

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check .

typecheck: $(STAMP)  ## mypy over abm/ (configured in pyproject.toml)
	$(BIN)/mypy

golden: $(STAMP)  ## rewrite tests/golden/ from the demo world's outputs (after a deliberate change in results)
	ABM_UPDATE_GOLDEN=1 $(BIN)/python -m pytest tests/test_golden.py -q

fixtures: $(STAMP)  ## regenerate the committed demo world (then `make golden`)
	$(BIN)/python -m fixtures.generate --companies 120 --seed 7 --out fixtures/demo

SIZES ?= 750,7500,75000
REPEATS ?= 3
bench: $(STAMP)  ## speed/memory/accuracy vs Splink + recordlinkage (SIZES=companies,... REPEATS=n); writes bench/RESULTS.md + .json
	$(BIN)/python -m pip install -q -e '.[bench]'
	@$(COMPILE)
	$(BIN)/python -m bench.run --out bench/RESULTS.md --sizes $(SIZES) --repeats $(REPEATS) $(BENCH_ARGS)

clean:  ## remove outputs (keeps .venv)
	rm -rf abm-out .pytest_cache
