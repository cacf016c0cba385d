# Everything a fresh clone needs is installed by these targets themselves:
# a virtualenv with the pinned Python packages, bun from the npm registry for Reflex's
# frontend build, and Debian's chromium for the browser tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools
BUN := $(TOOLS)/node_modules/bun/bin/bun.exe
PORT ?= 3000

# Reflex must never reach the internet here: no telemetry, no version check, npm registry only.
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := false
export NPM_CONFIG_REGISTRY := https://registry.npmjs.org
export REFLEX_BUN_PATH := $(CURDIR)/$(BUN)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test setup browser test-sqlite test-postgres bench lint reconcile prestart clean

run: setup prestart ## serve the app at http://localhost:3000
	$(VENV)/bin/reflex run --env prod --single-port --frontend-port $(PORT) --backend-port $(PORT)

test: setup browser ## the whole suite, on SQLite and on PostgreSQL
	$(PY) -m ruff check .
	$(MAKE) --no-print-directory test-sqlite test-postgres

test-sqlite:
	TEST_DATABASE=sqlite $(PY) -m pytest -p no:cacheprovider

test-postgres:
	TEST_DATABASE=postgresql $(PY) -m pytest -p no:cacheprovider

bench: setup browser ## print the benchmark figures
	$(PY) -m bench

lint: setup
	$(PY) -m ruff check .

prestart: setup ## migrate the database and load the tutor catalog
	$(PY) -m tutor_app.cli prestart

reconcile: setup ## book paid Checkout Sessions the webhook missed
	$(PY) -m tutor_app.cli reconcile

setup: $(VENV)/.installed $(BUN)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(BUN):
	npm install --silent --no-fund --no-audit --prefix $(TOOLS) bun@1.4.5
	test -x $(BUN)

browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) $(TOOLS) .web .states var
