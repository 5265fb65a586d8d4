# The two commands of the README: `make serve` and `make test`.
# Each sets everything up first (a virtualenv in .venv with the project installed).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test lint setup clean

$(BIN)/feedsvc: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/feedsvc

serve: setup
	$(BIN)/feedsvc serve

lint: setup
	$(BIN)/ruff check feedsvc tests bench
	$(BIN)/ruff format --check feedsvc tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var build
