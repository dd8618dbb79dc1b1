# nps-warehouse: `make demo` and `make test` work from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_START := 2021-06-01
DEMO_LAST := 2021-09-30
# The demo's settings: the same file `make demo-shell` and a user's shell source, so dbt sees one
# profile (absolute paths) whichever way it is started, and partial parsing keeps working.
DEMO_ENV := source ./demo.env &&
# dbt's full log on demand: make demo VERBOSE=1
DBT_DEMO_FLAGS := $(if $(VERBOSE),,--quiet)

.PHONY: install demo demo-shell test test-unit lint system-deps docs bench redshift-smoke clean lock

install: $(VENV)/.installed profiles.yml

# Every package at the version in constraints.txt (`make lock` refreshes it).
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,fast,metricflow,charts]'
	$(BIN)/python -m loader.dbt_vars_hook >/dev/null  # dbt --vars '{run_date: 2021-13-01}': one line
	touch $@

# Re-resolve every dependency to the newest versions pyproject.toml allows, in fresh venvs, and
# write them to constraints.txt and constraints-airflow.txt; review the diff, then commit it.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --upgrade pip && .venv-lock/bin/pip install --quiet '.[dev,fast,metricflow,charts]'
	.venv-lock/bin/pip freeze --exclude-editable | grep -v '^nps-warehouse' > constraints.txt
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet 'apache-airflow==$(AIRFLOW_VERSION)'
	.venv-lock/bin/pip freeze > constraints-airflow.txt
	rm -rf .venv-lock

profiles.yml:
	cp profiles.yml.example profiles.yml

# Real Airflow for the DAG test, in its own venv: kept apart from dbt's dependencies.
AIRFLOW_VERSION := 3.3.2
.venv-airflow/.installed: constraints-airflow.txt
	$(PYTHON) -m venv .venv-airflow
	.venv-airflow/bin/pip install --quiet -c constraints-airflow.txt 'apache-airflow==$(AIRFLOW_VERSION)'
	touch $@

# Test servers and browser from Debian's packages, when root: MariaDB (the MySQL source),
# PostgreSQL 15, and Chromium for the dbt docs test.
system-deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  missing=""; \
	  command -v mariadbd >/dev/null || missing="$$missing mariadb-server mariadb-client"; \
	  [ -x /usr/lib/postgresql/15/bin/initdb ] || missing="$$missing postgresql-15"; \
	  [ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi; \
	else \
	  command -v mariadbd >/dev/null || echo "note: mariadb-server is not installed (sudo apt-get install mariadb-server)"; \
	  [ -x /usr/lib/postgresql/15/bin/initdb ] || echo "note: postgresql-15 is not installed"; \
	  [ -x /usr/bin/chromium ] || echo "note: chromium is not installed (docs browser test)"; \
	fi

demo: install
	rm -rf demo
	$(BIN)/nps-loader demo-source --path demo/source.db --seed 42 --start $(DEMO_START) --days 122
	$(DEMO_ENV) $(BIN)/nps-loader backfill --start $(DEMO_START) --end 2021-09-29
	$(DEMO_ENV) $(BIN)/dbt $(DBT_DEMO_FLAGS) build
	$(DEMO_ENV) $(BIN)/nps-loader run --date $(DEMO_LAST)
	$(DEMO_ENV) $(BIN)/dbt $(DBT_DEMO_FLAGS) run --vars '{run_date: $(DEMO_LAST)}'
	$(DEMO_ENV) $(BIN)/nps-loader verify --start $(DEMO_START) --end $(DEMO_LAST)
	$(DEMO_ENV) $(BIN)/nps-loader charts --out assets
	$(DEMO_ENV) $(BIN)/python scripts/demo_report.py 7

# A shell with .venv active and the demo's settings (demo.env): dbt, nps-loader verify, dbt docs.
demo-shell: install
	@[ -f demo/warehouse.duckdb ] || { echo "run make demo first"; exit 2; }
	@echo "demo shell: dbt and nps-loader use demo/ (exit to leave)"
	@bash --rcfile <(echo '[ -f ~/.bashrc ] && . ~/.bashrc; . .venv/bin/activate; . ./demo.env; PS1="(nps-demo) $$PS1"') -i

lint: install
	$(BIN)/ruff check loader tests scripts bench orchestration dev
	$(BIN)/ruff format --check loader tests scripts bench orchestration dev
	$(BIN)/mypy
	$(BIN)/sqlfluff lint models tests/dbt

test: install system-deps lint .venv-airflow/.installed
	$(BIN)/pytest

# The inner loop: tests/unit only (no server, no dbt), in well under 30 s.
test-unit: install
	$(BIN)/pytest tests/unit

# Benchmarks: their own venv for dlt and matplotlib (not part of make test). Sizes: see bench/__main__.py.
.venv-bench/.installed:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet 'dlt[duckdb,sql_database,parquet]' pymysql sqlalchemy 'connectorx>=0.4,<0.5' matplotlib
	touch $@

# `make bench BENCH_ARGS=--quick` checks the harness in a couple of minutes.
bench: install system-deps .venv-bench/.installed
	$(BIN)/python -m bench $(BENCH_ARGS)

# Documents the demo's warehouse after `make demo` (else the profile's default target).
# The charts come from the warehouse documented (the demo's when it exists); production:
# nps-loader charts --out assets && dbt docs generate, with the warehouse's settings.
docs: install
	$(if $(wildcard demo/warehouse.duckdb),$(DEMO_ENV) $(BIN)/nps-loader charts --out assets,@echo "no demo warehouse: run make demo for its charts (or nps-loader charts --out assets)")
	$(if $(wildcard demo/warehouse.duckdb),$(DEMO_ENV)) $(BIN)/dbt docs generate
	@echo "serve with: $(if $(wildcard demo/warehouse.duckdb),$(DEMO_ENV) )$(BIN)/dbt docs serve --port 8080"

# For a user with a Redshift cluster: what the emulated Redshift cannot show, as a checklist
# (scripts/redshift_smoke.py): a first build, two incremental days, two concurrent runs with
# threads: 4, staged timestamps to the microsecond, a reconcile, SSE-KMS read by COPY.
# Needs NPS_REDSHIFT_HOST, NPS_REDSHIFT_USER, NPS_REDSHIFT_PASSWORD, NPS_REDSHIFT_DATABASE,
# NPS_REDSHIFT_IAM_ROLE, NPS_LAKE_URL=s3://bucket/prefix and AWS credentials for that bucket.
redshift-smoke: install
	@for v in NPS_REDSHIFT_HOST NPS_REDSHIFT_PASSWORD NPS_REDSHIFT_IAM_ROLE NPS_LAKE_URL; do \
	  [ -n "$${!v:-}" ] || { echo "redshift-smoke needs $$v (see docs/operations.md, Redshift)"; exit 2; }; done
	$(BIN)/python scripts/redshift_smoke.py

clean:
	rm -rf demo lake warehouse.duckdb target logs .pytest_cache .hypothesis
