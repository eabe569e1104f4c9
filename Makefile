# refunddesk — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
export PORT

.PHONY: run test lint install lock messages browser-deps clean help

help:
	@echo "make run    - install, migrate, load demo data once, serve web + API + worker on http://127.0.0.1:$(PORT)"
	@echo "make test   - install and run ruff, the import-direction check and the whole test suite"
	@echo "make lint   - ruff's checks and the import-direction check (.importlinter) only"
	@echo "make lock   - re-resolve requirements.lock from pyproject.toml"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "refunddesk needs Python 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

install: $(STAMP) messages

messages: $(STAMP)
	@$(BIN)/python -m refunddesk.core.i18n compile

lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

run: install
	@mkdir -p var/static
	$(BIN)/refunddesk migrate --noinput
	$(BIN)/refunddesk demo
	$(BIN)/refunddesk serve --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: install
	@mkdir -p var/static
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	@echo "== test database: $$($(BIN)/python -c 'import dj_database_url,os; print(dj_database_url.parse(os.environ.get("DATABASE_URL","sqlite:///var/refunddesk.sqlite3"))["ENGINE"].rsplit(".",1)[-1])')"
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
