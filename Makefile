# GridCity: `make run` starts the whole system with a demo city; `make test` runs the tests.
SHELL := /bin/bash
PY := .venv/bin/python
export DJANGO_SETTINGS_MODULE := gridcity.settings

.PHONY: run test bench setup setup-test lint format manage clean help

help:
	@echo "make run    - set up (first time), load the demo city, start everything"
	@echo "make test   - set up, then run the whole test suite"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make lint   - ruff check and format check"

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --test

run: setup
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py seed_demo_city --if-empty
	@$(PY) manage.py seed_demo_cases --days 7 --per-day 1000 --if-empty
	@$(PY) manage.py seed_demo_patrols --if-empty
	@$(PY) manage.py seed_demo_hotline --if-empty
	@$(PY) manage.py collectstatic --noinput -v 0
	@exec $(PY) -m gridcity.run

# One test process per core (pytest-xdist); TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= auto

test: setup-test
	@$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

bench: setup
	@$(PY) bench/run.py $(BENCH_ARGS)

lint: setup
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .

format: setup
	@.venv/bin/ruff check --fix .
	@.venv/bin/ruff format .

clean:
	rm -rf var/ .pytest_cache
