# make demo  - create .venv if missing, install what the main job needs, run it
# make test  - the same setup plus test tools, then the whole test suite (what .ci/run calls)
# make quick - the test suite without the tests marked slow (under 2 minutes on 2 cores)
# make lint  - ruff (lint and format check) and mypy, with pinned versions (.ci/run runs it first)
# make format - rewrite the code with ruff format and ruff's safe fixes
#
# torch is installed first, pinned (constraints.txt), so nothing later can pull another build.
# Where the CPU wheel is not on local disk, pass an index for the CPU build, e.g.
#   make test TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
PIPI   := $(PIP) install --quiet --disable-pip-version-check -c constraints.txt
TORCH_PIP_ARGS ?=
PYTEST_ARGS ?=

.PHONY: demo test quick lint format bench setup setup-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.torch: constraints.txt | $(BIN)/python
	$(PIPI) $(TORCH_PIP_ARGS) "torch==2.13.0"
	@touch $@

$(VENV)/.core: pyproject.toml $(VENV)/.torch
	$(PIPI) -e ".[video,timeseries,forecasting,speech,anomaly,text]"
	@touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.core
	$(PIPI) -e ".[test]"
	@touch $@

$(VENV)/.lint: pyproject.toml $(VENV)/.test
	$(PIPI) -e ".[lint]"
	@touch $@

setup: $(VENV)/.core
setup-test: $(VENV)/.test

demo: $(VENV)/.core
	$(BIN)/cnnlstm demo

test: $(VENV)/.test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

quick: $(VENV)/.test
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(VENV)/.lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.lint
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.core
	$(BIN)/python benchmarks/convlstm_speed.py

clean:
	rm -rf $(VENV) runs .pytest_cache
