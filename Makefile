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
BACKEND_PORT ?= 8000
# `make dev` serves the pages at http://localhost:$(PORT), and APP_URL must be that origin
# (sign-in and the websocket accept only APP_URL's). The default APP_URL is; with another PORT
# given, APP_URL follows it, unless the environment sets APP_URL itself.
DEV_APP_URL := $(if $(filter file,$(origin PORT))$(APP_URL),,APP_URL=http://localhost:$(PORT))

# Reflex must never reach the internet here: no telemetry, no version check, npm registry only.
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := false
# Reflex probes npm registries unless told which one to use: the machine's own npm setting.
export NPM_CONFIG_REGISTRY := $(shell npm config get registry 2>/dev/null)
export REFLEX_BUN_PATH := $(CURDIR)/$(BUN)
export PYTHONDONTWRITEBYTECODE := 1

# Days the suite must pass on: a month's last day, the DST changes in New York and London (both
# ways), 29 February and 31 December. `make test-dates` runs the unit and state tests on each,
# with the app's clock and the machine's own clock both moved there (tests/pinned_time.py).
TEST_DATES := 2026-11-30T23:30:00 2027-03-14T06:30:00 2026-11-01T05:30:00 \
	2027-03-28T00:30:00 2026-10-25T00:30:00 2028-02-29T12:00:00 2026-12-31T23:00:00

.PHONY: dev demo run test setup browser fault-servers test-sqlite test-postgres test-dates bench \
	lint reconcile prestart clean proxy cluster

# Hot reload watches the app's code and assets only: var/ (the database, the outbox) changes
# all the time. The backend listens on loopback; the dev server too (tutor_app/dev_server.py).
dev: setup prestart ## develop: demo data, then the app at http://localhost:3000, hot reloading
	$(DEV_APP_URL) $(PY) -m tutor_app.cli demo || echo "make dev: going on without demo data"
	$(DEV_APP_URL) REFLEX_HOT_RELOAD_OVERRIDE_PATHS=tutor_app:assets \
	  $(VENV)/bin/reflex run --env dev --frontend-port $(PORT) --backend-port $(BACKEND_PORT) \
	  --backend-host 127.0.0.1

demo: setup prestart ## fill an empty local database with demo data and print its sign-ins
	$(PY) -m tutor_app.cli demo

run: setup prestart ## serve the app at http://localhost:3000
	$(VENV)/bin/reflex run --env prod --single-port --frontend-port $(PORT) --backend-port $(PORT)

test: lint browser fault-servers proxy ## lint, then the whole suite on SQLite and on PostgreSQL
	$(MAKE) --no-print-directory test-sqlite test-postgres test-dates

test-sqlite:
	TEST_DATABASE=sqlite $(PY) -m pytest -p no:cacheprovider

test-postgres:
	TEST_DATABASE=postgresql $(PY) -m pytest -p no:cacheprovider

test-dates:
	@for at in $(TEST_DATES); do \
	  echo "== unit and state tests on $$at UTC"; \
	  TEST_NOW=$$at+00:00 MACHINE_DATE=$$at+00:00 TEST_DATABASE=sqlite \
	    $(PY) -m pytest -p no:cacheprovider -q tests/unit tests/state || exit 1; \
	done

bench: setup browser ## print the benchmark figures
	$(PY) -m bench

.PHONY: load
load: setup ## simulated students booking over the websocket, per layout and N, and a chart
	$(PY) -m bench load

lint: setup ## ruff, and mypy in strict mode (configured in pyproject.toml)
	$(PY) -m ruff check .
	$(PY) -m mypy

prestart: setup ## migrate the database and load the tutor catalog
	$(PY) -m tutor_app.cli prestart

reconcile: setup ## book paid checkout sessions the webhook missed
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

# The fault tests (tests/e2e/test_faults_*.py) start and kill a PostgreSQL cluster and a
# redis-server of their own: Debian's server binaries, never the shared servers.
fault-servers:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v redis-server >/dev/null \
	  || { apt-get update -qq && apt-get install -y -qq postgresql redis-server >/dev/null; }

# Debian's nginx, the reverse proxy in front of the app nodes (`make cluster`, docs/deploy.md).
# Only the binary is used: the cluster runs it unprivileged with its own prefix and config.
proxy:
	@test -x /usr/sbin/nginx || { apt-get update -qq && \
	  apt-get install -y -qq --no-install-recommends nginx >/dev/null; }

# Several app nodes behind nginx on loopback (docs/deploy.md), sharing the PostgreSQL of
# DATABASE_URL and the Redis of REDIS_URL: migrates once, then serves at
# http://localhost:$(CLUSTER_PORT) until Ctrl-C. NODES and WORKERS (per node) pick the layout.
NODES ?= 2
WORKERS ?= 2
CLUSTER_PORT ?= 8080
cluster: setup proxy ## several app nodes behind nginx (PostgreSQL and Redis from the environment)
	$(PY) -m tutor_app.cluster --nodes $(NODES) --workers $(WORKERS) --port $(CLUSTER_PORT)

clean:
	rm -rf $(VENV) $(TOOLS) .web .states var
