# Two entry points, the same on a fresh machine and in CI:
#   make run   install into .venv and run the main job on bundled data
#              (`secdilemma report --quick`: the committed reference fits reused)
#   make test  install into .venv and run the default test suite
# Also: make report (the full report), make reference-fits (regenerate models/*_historical.*)
# Python 3.12 is required (PyMC 6); pyenv users get it from .python-version.
PYTHON ?= $(shell command -v python3.12 || ls -d $(HOME)/.pyenv/versions/3.12*/bin/python 2>/dev/null | tail -n 1 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
OUT ?= build

.PHONY: install run report reference-fits test test-slow lint bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "secdilemma needs Python >= 3.12, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/secdilemma report --quick --out $(OUT)

report: install
	$(BIN)/secdilemma report --out $(OUT)

# Refit every variant with the reference settings (4 x (1000 + 1000), seed 20261201) and
# save the fits, compact, with their manifests, as models/VARIANT_historical.{nc,json}.
reference-fits: install
	$(BIN)/secdilemma report --quick --refit --update-references --out $(OUT)/reference-fits

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

test-slow: install
	$(BIN)/python -m pytest -m slow

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests benchmarks notebooks

bench: install
	$(BIN)/python benchmarks/bench_fit.py
