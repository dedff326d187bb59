# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
## The demo's language (pt-br, es or en) is also the installation default for `make run`.
## Not exported: `make test` must not inherit it (the suite runs in English, tests/i18n pick languages).
DEMO_LANGUAGE ?= pt-br

.PHONY: run test test-fast test-scaleout venv system-deps messages bench bench-load clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

## Compiled catalogs (.mo) are built here from locale/*/LC_MESSAGES/*.po, never committed.
## compilemessages needs GNU gettext's msgfmt (Debian package gettext, see
## scripts/install-system-deps.sh); without it Babel's pure-Python compiler builds the same files.
messages: venv
	@if command -v msgfmt >/dev/null 2>&1; then \
		DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv --ignore=var -v 0; \
	else \
		for po in locale/*/LC_MESSAGES/*.po; do $(VENV)/bin/pybabel compile -i $$po -o $${po%.po}.mo; done; \
	fi

## make run: install, migrate, demo data, then serve HTTP + websockets and the task worker.
run: venv messages
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 DEMO_LANGUAGE=$(DEMO_LANGUAGE) LANGUAGE_CODE=$${LANGUAGE_CODE:-$(DEMO_LANGUAGE)} $(PY) manage.py setup_demo
	-DEBUG=1 $(PY) manage.py bot_encode
	@echo ""
	@echo "  Agent inbox:   $(PUBLIC_BASE_URL)/"
	@echo "  Admin:         $(PUBLIC_BASE_URL)/admin/"
	@echo "  Bot console:   $(PUBLIC_BASE_URL)/bot/console/"
	@echo "  Demo shop:     $(PUBLIC_BASE_URL)/demo-shop/   (the chat widget, as a customer sees it)"
	@echo "  API docs:      $(PUBLIC_BASE_URL)/api/docs/"
	@echo "  Credentials are printed above (also in var/demo-credentials.txt). Ctrl+C stops."
	@echo ""
	DEBUG=1 DEMO_LANGUAGE=$(DEMO_LANGUAGE) LANGUAGE_CODE=$${LANGUAGE_CODE:-$(DEMO_LANGUAGE)} $(PY) manage.py serve --host $(HOST) --port $(PORT)

system-deps:
	bash scripts/install-system-deps.sh

## make test: everything, on the embedded defaults (SQLite, in-memory layer) with real
## Chromium, Redis, Dovecot and SMTP servers; then the service/API/consumer tests again on
## PostgreSQL with Redis as the channel layer and cache.
test: venv system-deps messages
	$(PY) -m tests.servers --redis --sqlite-file -- $(PY) -m pytest -q -p no:cacheprovider
	$(MAKE) test-scaleout

test-scaleout: venv messages
	$(PY) -m tests.servers --postgres --redis --redis-as-default -- \
		$(PY) -m pytest -q -p no:cacheprovider -m "not browser" tests/inbox tests/widget tests/bot tests/retention tests/channels tests/shops

test-fast: venv messages
	$(PY) -m pytest -q -m "not browser" -x

bench: venv
	$(PY) bench/bot_eval.py --train ../shared/data/banking77/train.csv --k 10 --test ../shared/data/banking77/test.csv
	$(PY) bench/bot_eval.py --latency

## make bench-load: the load benchmark of bench/load.py on the embedded default, then on
## PostgreSQL + Redis with 2 web processes and 1 worker (about 15 minutes; figures in bench/README.md).
bench-load: venv system-deps
	$(PY) bench/load.py --setup embedded
	$(PY) bench/load.py --setup scaleout

clean:
	rm -rf $(VENV) var
