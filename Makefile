# The two commands of the README: `make run` and `make test`.
# Everything installs into .venv from PyPI; PostgreSQL is embedded unless DATABASE_URL is set.

PYTHON ?= $(shell for p in python3 python3.12 python3.11; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' 2>/dev/null \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint check-python messages clean

check-python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "Python 3.11 or 3.12 is needed (python3 --version says: $$(python3 --version 2>&1))."; \
		echo "Install one of them, or run: make PYTHON=/path/to/python3.12 run"; exit 1; fi

$(VENV)/.installed: requirements.txt | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(BIN)/python manage.py migrate_schemas --noinput -v 0
	$(BIN)/python manage.py seed_demo
	PORTAL_PORT=$(PORT) $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# Refresh the translation catalogues (needs GNU gettext); the compiled .mo is committed.
messages: $(VENV)/.installed-dev
	$(BIN)/python manage.py makemessages -l ja --no-obsolete --ignore=.venv --ignore=.data --ignore=tests
	$(BIN)/python locale/ja_translations.py
	$(BIN)/python manage.py compilemessages -l ja --ignore=.venv

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
