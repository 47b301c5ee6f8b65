# Kinfold: `make run` sets up and serves the demo; `make test` runs every check CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= uv
PY := $(UV) run --frozen
VAR := var
PG_URL ?= $(or $(KINFOLD_TEST_POSTGRES_URL),postgres://postgres@127.0.0.1:5432/kinfold)
# Two workers (pytest-xdist). tests/conftest.py collects the longest items first (the canary's worlds, one item
# each) and has each worker sent one item at a time, so the two share them and finish together.
PYTEST_ARGS ?= -n 2

.PHONY: help install secret migrate demo run serve test test-sqlite test-postgres lint typecheck bench bench-scale clean messages

help:
	@echo "make run    install, migrate, load the demo data, serve on http://127.0.0.1:8000"
	@echo "make serve  migrate, then serve with gunicorn (production server) on http://127.0.0.1:8000"
	@echo "make test   lint, type-check, and the whole suite on SQLite and PostgreSQL"
	@echo "make lint   ruff (lint + format check), mypy and the import contracts"
	@echo "make bench  the benchmarks under bench/ (needs PostgreSQL)"
	@echo "make bench-scale  caseload and family pages beside their raw-SQL floor at 10^4, 10^5, 10^6 families"

install:
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --quiet

$(VAR)/secret_key:
	@mkdir -p $(VAR)
	@python3 -c "import secrets; print(secrets.token_urlsafe(50))" > $@
	@chmod 600 $@

secret: $(VAR)/secret_key

migrate: install secret
	KINFOLD_SECRET_KEY=$$(cat $(VAR)/secret_key) $(PY) kinfold migrate --noinput

demo: migrate
	KINFOLD_SECRET_KEY=$$(cat $(VAR)/secret_key) $(PY) kinfold demo

# PORT=8100 make run (or make run PORT=8100) serves on another port; 8000 by default.
# The background-task worker (django-tasks, database backend) and the audit sealer (which chains the audit events
# requests append) run beside the web server and stop with it.
# The demo's logins sign in with a password only (KINFOLD_REQUIRE_MFA=0); staff may still set up an app.
run: demo
	export KINFOLD_SECRET_KEY=$$(cat $(VAR)/secret_key) KINFOLD_REQUIRE_MFA=$${KINFOLD_REQUIRE_MFA:-0}; \
	$(PY) kinfold schedule_jobs; \
	$(PY) kinfold db_worker & worker=$$!; \
	$(PY) kinfold audit seal --follow & sealer=$$!; \
	trap 'kill $$worker $$sealer 2>/dev/null' EXIT INT TERM; \
	$(PY) kinfold runserver 127.0.0.1:$(or $(PORT),8000)

# The production server: gunicorn with 2 x cores + 1 sync workers (WORKERS=n to choose), the same settings and
# background-task worker as `make run` (its daily jobs queued first); whitenoise serves the static files. It does
# not load the demo data. PORT=8100 make serve serves on another port.
serve: migrate
	export KINFOLD_SECRET_KEY=$$(cat $(VAR)/secret_key); \
	$(PY) kinfold schedule_jobs; \
	$(PY) kinfold db_worker & worker=$$!; \
	$(PY) kinfold audit seal --follow & sealer=$$!; \
	trap 'kill $$worker $$sealer 2>/dev/null' EXIT INT TERM; \
	$(PY) gunicorn kinfold.wsgi --workers $(or $(WORKERS),$$(( 2 * $$(nproc) + 1 ))) --bind 127.0.0.1:$(or $(PORT),8000)

lint: install
	$(PY) ruff check src tests bench
	$(PY) ruff format --check src tests bench
	KINFOLD_TESTING=1 $(PY) mypy
	$(PY) lint-imports --no-cache

typecheck: lint

# Kinfold's own translations (src/kinfold/locale/<lang>/LC_MESSAGES/django.po -> django.mo, both committed). Run
# from the package, so compilemessages finds only Kinfold's locale directory (not the virtualenv's).
messages: install
	cd src/kinfold && KINFOLD_TESTING=1 $(PY) kinfold compilemessages --locale es

test-sqlite: install
	KINFOLD_TESTING=1 KINFOLD_DATABASE_URL= $(PY) pytest $(PYTEST_ARGS)

# PostgreSQL runs when KINFOLD_TEST_POSTGRES_URL is set or a server answers on 127.0.0.1:5432;
# with CI set, an unreachable server fails the run instead of skipping it. The browser journeys run once
# (on SQLite), and the canary (tests/test_canary.py) draws 2 worlds here (12 on SQLite), beside its 3 fixed
# worlds: the rules it checks do not depend on the database, and the other suites cover PostgreSQL's own paths.
test-postgres: install
	@if $(PY) python -c "import sys, psycopg; psycopg.connect('$(PG_URL)'.rsplit('/', 1)[0] + '/postgres', connect_timeout=3).close()" 2>/dev/null; then \
		echo "== PostgreSQL: $(PG_URL)"; \
		KINFOLD_TESTING=1 KINFOLD_CANARY_EXAMPLES=2 KINFOLD_DATABASE_URL=$(PG_URL) $(PY) pytest $(PYTEST_ARGS) -m "not browser and not crash" && \
		echo "== PostgreSQL: the crash drill (kill -9 the server, restart PostgreSQL under load), on its own" && \
		KINFOLD_TESTING=1 KINFOLD_DATABASE_URL=$(PG_URL) $(PY) pytest -p no:xdist -m crash tests/test_crash_safety.py; \
	elif [ -n "$$CI" ]; then \
		echo "FAIL: CI is set and PostgreSQL is unreachable at $(PG_URL)"; exit 1; \
	else \
		echo "SKIP: PostgreSQL is unreachable at $(PG_URL) (set KINFOLD_TEST_POSTGRES_URL or start it)"; \
	fi

test: lint test-sqlite test-postgres

BENCH_ARGS ?=
BENCH_URL := $(or $(KINFOLD_BENCH_DATABASE_URL),postgres://postgres@127.0.0.1:5432/kinfold_bench)
bench: install
	KINFOLD_TESTING=1 KINFOLD_DATABASE_URL=$(BENCH_URL) $(PY) python bench/caseload.py $(BENCH_ARGS)
	KINFOLD_TESTING=1 KINFOLD_DATABASE_URL=$(BENCH_URL) $(PY) python bench/access_policy.py $(BENCH_ARGS)
	KINFOLD_TESTING=1 $(PY) python bench/directory.py
	KINFOLD_TESTING=1 $(PY) python bench/referrals.py
	KINFOLD_TESTING=1 $(PY) python bench/pathways.py

# The caseload and family pages beside their raw-SQL floor at 10^4, 10^5 and 10^6 families (issue 15): each size in
# its own database (kinfold_bench_10000, kinfold_bench, kinfold_bench_1000000), seeded on first use (10^6: ~40 min).
BENCH_SIZES ?= 10000 100000 1000000
bench-scale: install
	for n in $(BENCH_SIZES); do \
	  KINFOLD_TESTING=1 KINFOLD_DATABASE_URL=$(BENCH_URL) $(PY) python bench/caseload.py --families $$n $(BENCH_ARGS) || exit 1; \
	  KINFOLD_TESTING=1 KINFOLD_DATABASE_URL=$(BENCH_URL) $(PY) python bench/access_policy.py --families $$n $(BENCH_ARGS) || exit 1; \
	done

clean:
	rm -rf $(VAR)/screenshots $(VAR)/static .pytest_cache .mypy_cache .ruff_cache
