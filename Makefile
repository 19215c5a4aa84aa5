# Two commands: `make run` and `make test`. Each creates .venv with the project installed when it
# is missing or older than pyproject.toml (and does nothing when it is current).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test migrate bench lint

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/python -m bot

migrate: $(STAMP)
	$(VENV)/bin/python -m bot migrate

test: $(STAMP)
	$(VENV)/bin/python -m pytest

bench: $(STAMP)
	$(VENV)/bin/python -m bench.ledger

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
