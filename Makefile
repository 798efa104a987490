# Two entry points, the same on a fresh machine and in CI:
#   make run   install into .venv and run the main job on bundled data
#   make test  install into .venv and run the default test suite
# Python 3.12 is required (PyMC 6); pyenv users get it from .python-version.
PYTHON ?= $(shell command -v python3.12 || ls -d $(HOME)/.pyenv/versions/3.12*/bin/python 2>/dev/null | tail -n 1 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
OUT ?= build

.PHONY: install run test test-slow lint bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "secdilemma needs Python >= 3.12, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/secdilemma demo --out $(OUT)

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
