# csplatform — the commands a newcomer needs. `make run` and `make test` do the whole set-up.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_ACCOUNTS ?= 200
BENCH_ACCOUNTS ?= 20000
# Tests use the local PostgreSQL and Redis unless the environment points elsewhere.
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/csplatform)
TEST_REDIS_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/0)
TEST_WORKERS ?= auto

.PHONY: help install run web worker fastworker beat setup test test-fast lint format bench clean chromium harfbuzz-subset messages

help:
	@echo "make run    start the platform with demo data (SQLite + built-in broker unless configured)"
	@echo "make test   install test dependencies and run the whole suite (PostgreSQL + Redis)"
	@echo "make lint   ruff, mypy on services/selectors, makemigrations --check"
	@echo "make bench  page latency, ingestion events/s beside COPY, metric recalculation, health scoring, rule evaluation, event-to-score/task latency and QBR decks at $(BENCH_ACCOUNTS) accounts"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test,dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# Migrate, create demo users and demo data (only the first time), collect nothing: idempotent.
setup: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo --accounts $(DEMO_ACCOUNTS) --if-empty

run: setup
	@echo ""
	@echo "  csplatform is starting on http://$(HOST):$(PORT)/login/  (Ctrl-C stops web, workers and beat)"
	@echo ""
	PATH="$(abspath $(BIN)):$$PATH" HOST=$(HOST) PORT=$(PORT) $(BIN)/honcho start -f Procfile

# The processes of the Procfile, one by one (docker-compose runs the same commands).
web: install
	$(BIN)/gunicorn csplatform.wsgi --bind $${HOST:-0.0.0.0}:$${PORT:-8000} --workers $${WEB_CONCURRENCY:-2} --access-logfile -
worker: install
	$(BIN)/celery -A csplatform worker --loglevel INFO --concurrency $${CELERY_CONCURRENCY:-2}
fastworker: install
	$(BIN)/celery -A csplatform worker --loglevel INFO --concurrency 1 --hostname fast@%h --exclude-queues $${CELERY_QUEUE:-csplatform}
beat: install
	$(BIN)/celery -A csplatform beat --loglevel INFO

# Debian's chromium drives the end-to-end tests; install it when missing and we are root.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing Debian's chromium for the end-to-end tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium: end-to-end tests will be skipped"; \
	  else echo "chromium is missing and we are not root: end-to-end tests will be skipped"; fi; \
	fi

# WeasyPrint subsets the fonts of a PDF with HarfBuzz when libharfbuzz-subset is there (as
# in the Dockerfile) and with the slower fontTools otherwise: a QBR PDF takes about twice as
# long. Installed when missing and we are root, so that tests and benchmarks run as
# production does; without it everything still works.
harfbuzz-subset:
	@if ! ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset.so.0; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing Debian's libharfbuzz-subset0 for PDF rendering"; \
	    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libharfbuzz-subset0 >/dev/null 2>&1 \
	      || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libharfbuzz-subset0 >/dev/null)) \
	      || echo "could not install libharfbuzz-subset0: PDFs fall back to fontTools"; \
	  fi; \
	fi

test: install chromium harfbuzz-subset
	DJANGO_ENV=test DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	  $(BIN)/pytest -n $(TEST_WORKERS) --create-db $(PYTEST_ARGS)

test-fast: install
	DJANGO_ENV=test DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	  $(BIN)/pytest -m "not e2e and not integration" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(wildcard */services.py */services/*.py */selectors.py)
	DJANGO_ENV=test DATABASE_URL=sqlite://:memory: $(PY) manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install harfbuzz-subset
	DATABASE_URL=$(or $(BENCH_DATABASE_URL),postgres://postgres@127.0.0.1:5432/csplatform_bench) \
	  $(PY) bench/run.py --accounts $(BENCH_ACCOUNTS)
	DATABASE_URL=$(or $(BENCH_DATABASE_URL),postgres://postgres@127.0.0.1:5432/csplatform_bench) \
	  $(PY) bench/ingest.py
	DATABASE_URL=$(or $(BENCH_DATABASE_URL),postgres://postgres@127.0.0.1:5432/csplatform_bench) \
	  $(PY) bench/recalc.py --accounts $(BENCH_ACCOUNTS)
	DATABASE_URL=$(or $(BENCH_DATABASE_URL),postgres://postgres@127.0.0.1:5432/csplatform_bench) \
	  $(PY) bench/health.py --accounts $(BENCH_ACCOUNTS)
	DATABASE_URL=$(or $(BENCH_DATABASE_URL),postgres://postgres@127.0.0.1:5432/csplatform_bench) \
	  $(PY) bench/rules.py --accounts $(BENCH_ACCOUNTS)
	DATABASE_URL=$(or $(BENCH_DATABASE_URL),postgres://postgres@127.0.0.1:5432/csplatform_bench) \
	  $(PY) bench/qbr.py --accounts $(BENCH_ACCOUNTS)

messages: install
	$(PY) manage.py makemessages -l ru --ignore=.venv --ignore=var
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf var/ .pytest_cache .mypy_cache .ruff_cache
