# Two commands matter on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
SEED ?= 0

.PHONY: run test bench lint install compile clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,lint]'
	touch $@

install: $(VENV)/.installed

# Byte-compile our own modules even where PYTHONDONTWRITEBYTECODE is set: start-up is measured.
compile: install
	@$(BIN)/python -m compileall -q mockserver

run: compile
	$(BIN)/mockserver serve --host $(HOST) --port $(PORT) --seed $(SEED)

test: compile
	$(BIN)/python -m pytest -n auto -q

bench: compile
	$(BIN)/python bench/run.py
	$(BIN)/python bench/delay.py
	$(BIN)/python bench/instructions.py

lint: install
	$(BIN)/ruff check mockserver tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
