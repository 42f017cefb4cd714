# The README's two commands: `make reproduce` (whole default pipeline) and `make test`.
# Each creates the virtual environment first. Works on a fresh machine with python3.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CORES ?= all

.PHONY: venv test test-all reproduce lint format clean-venv

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: pip takes the CPU build from local disk here, a CUDA build on clusters
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[workflow,metrics,dev]"
	# basic-pitch declares tensorflow, which would pull a huge wheel and downgrade numpy:
	# install it without dependencies; its ONNX model runs on onnxruntime (metrics extra)
	$(BIN)/python -m pip install --quiet --no-deps "basic-pitch==0.4.0"
	touch $(STAMP)

venv: $(STAMP)

test: venv
	$(BIN)/python -m pytest

test-all: venv
	$(BIN)/python -m pytest -m "" 

reproduce: venv dvc-remote
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report report.html

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean-venv:
	rm -rf $(VENV)

-include mk/*.mk
