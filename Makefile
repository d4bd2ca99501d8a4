# The two commands of the README: `make run` and `make test`.
# Everything installs into .venv from PyPI; PostgreSQL is embedded unless DATABASE_URL is set.

PYTHON ?= $(shell for p in python3 python3.12 python3.11; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' 2>/dev/null \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run demo-reset serve test lint bench bench-clean check-python messages clean

check-python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "Python 3.11 or 3.12 is needed (python3 --version says: $$(python3 --version 2>&1))."; \
		echo "Install one of them, or run: make PYTHON=/path/to/python3.12 run"; exit 1; fi

$(VENV)/.installed: requirements.txt | check-python
	@echo "Installing the Python packages into $(VENV) (a minute or two the first time)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-local: requirements-local.txt $(VENV)/.installed
	@echo "Installing the development tools (the local payment provider)..."
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-local.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed-local
	@echo "Installing the test tools..."
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The demo's seller has an example registration number (valid, belonging to nobody), so its
# JPY invoices are qualified invoices (適格請求書); set your own to replace it.
# It pays through Stripe's SDK: with STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY (test keys)
# set, Stripe's test mode; else the local provider `make run` starts on 127.0.0.1:STRIPE_PORT.
STRIPE_PORT ?= 8420
LOCAL_STRIPE := $(if $(STRIPE_SECRET_KEY),,1)
DEMO_ENV := DJANGO_DEBUG=1 \
	PORTAL_INVOICE_REGISTRATION_NUMBER=$(or $(PORTAL_INVOICE_REGISTRATION_NUMBER),T7123456789012) \
	SUBSCRIPTIONS_PAYMENT_GATEWAY=subscriptions.stripe_gateway.StripeGateway \
	STRIPE_SECRET_KEY=$(or $(STRIPE_SECRET_KEY),sk_test_local) \
	STRIPE_PUBLISHABLE_KEY=$(or $(STRIPE_PUBLISHABLE_KEY),pk_test_local) \
	$(if $(LOCAL_STRIPE),STRIPE_API_BASE=http://127.0.0.1:$(STRIPE_PORT))

# The web server, one worker (emails, daily billing) and the local payment provider (unless
# Stripe's test keys are set); one Ctrl-C stops them all.
run: $(VENV)/.installed-local
	mkdir -p .data && echo $(PORT) > .data/port  # commands run beside it link to this port
	$(DEMO_ENV) $(BIN)/python manage.py migrate_organisations -v 0
	$(if $(LOCAL_STRIPE),$(BIN)/python -m subscriptions.local_provider --port $(STRIPE_PORT) --state .data/localstripe.pickle & provider=$$!;) \
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo; seeded=$$?; \
	$(if $(LOCAL_STRIPE),kill $$provider; wait $$provider;) exit $$seeded
	exec env $(DEMO_ENV) PORTAL_PORT=$(PORT) $(BIN)/python -m portal.launcher \
		--then "$(BIN)/python manage.py seed_demo --summary" \
		"$(BIN)/python manage.py runserver $(HOST):$(PORT)" "$(BIN)/python manage.py worker" \
		$(if $(LOCAL_STRIPE),"$(BIN)/python -m subscriptions.local_provider --port $(STRIPE_PORT) --state .data/localstripe.pickle")

# The demo as `make run` first made it: every organisation (the demo's and any signed up)
# forgotten, then seeded again. Works beside a running `make run` (its links on its port).
demo-reset: $(VENV)/.installed-local
	$(DEMO_ENV) $(BIN)/python manage.py migrate_organisations -v 0
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo --reset

# The production server: gunicorn on HOST:PORT with DJANGO_DEBUG=0, the other variables from
# the environment (README.md, "Production"). Before serving, it refuses to start without what
# production needs, runs the deploy checks and collects the static files (portal/production.py).
# Workers (`manage.py worker`) run beside it.
serve: $(VENV)/.installed
	exec env DJANGO_DEBUG=0 $(BIN)/gunicorn --config portal/gunicorn.conf.py --bind $(HOST):$(PORT)

test: $(VENV)/.installed-dev
	DJANGO_DEBUG=1 $(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_DEBUG=1 $(BIN)/mypy .  # the django-stubs plugin loads the settings
	$(BIN)/lint-imports --no-logo  # the apps' layers, no import loop (pyproject.toml)

# Benchmarks: minutes, not part of make test (run them in the background). Each prints its
# figures and asserts nothing. They share the organisations kept by bench/built.py
# (portal_bench_<N>, built on the first run: half an hour at 10,000), or a copy of them.
# BENCH_BASELINE=DIR: bench/served.py also serves the pages from that checkout (e.g. a git
# worktree of an earlier commit), in turns with this one, and prints the ratios.
bench: $(VENV)/.installed-dev
	DJANGO_DEBUG=1 $(BIN)/python bench/run_billing.py $(or $(COUNT),10000)
	DJANGO_DEBUG=1 $(BIN)/python bench/create_organisation.py 20
	DJANGO_DEBUG=1 $(BIN)/python -m bench.tenants $(or $(BENCH_TENANTS),1000)
	DJANGO_DEBUG=1 $(BIN)/python -m bench.provisioning_interleaved 200 $(or $(BENCH_TENANTS),1000)
	DJANGO_DEBUG=1 $(BIN)/python -m bench.schema_change $(or $(BENCH_TENANTS),1000)
	DJANGO_DEBUG=1 $(BIN)/python -m bench.served $(or $(BENCH_TENANTS),1000) \
		$(if $(BENCH_BASELINE),--baseline $(BENCH_BASELINE))

# The organisations the benchmarks keep between runs (bench/built.py): dropped.
bench-clean: $(VENV)/.installed-dev
	DJANGO_DEBUG=1 $(BIN)/python -m bench.built clean

# Refresh the translation catalogue (needs GNU gettext). locale/ja/LC_MESSAGES/django.po is the
# one source of the Japanese strings: makemessages keeps its translations, adds new messages
# empty (or fuzzy, guessed from a similar one) and drops removed ones; translate those in the .po
# and run this again. Fails, listing them, while any is untranslated or fuzzy. The .mo is committed.
# locale/thirdparty/ is written, not edited: the libraries' Japanese as we write it.
messages: $(VENV)/.installed-dev
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemessages -l ja --no-obsolete --ignore=.venv --ignore=.data --ignore=tests
	DJANGO_DEBUG=1 $(BIN)/python manage.py thirdparty_messages
	DJANGO_DEBUG=1 $(BIN)/python manage.py compilemessages -l ja --ignore=.venv
	@$(BIN)/python -c 'import sys, polib; po = polib.pofile(sys.argv[1]); \
		left = ["%s:%d: %s: %r" % (sys.argv[1], e.linenum, "fuzzy" if e.fuzzy else "untranslated", e.msgid) \
			for e in po.untranslated_entries() + po.fuzzy_entries()]; \
		sys.exit("\n".join([*left, f"{len(left)} message(s) to translate, then run make messages again."]) if left else 0)' \
		locale/ja/LC_MESSAGES/django.po

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
