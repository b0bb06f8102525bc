# The README's two commands: `make demo` and `make test`. Everything else is for operators.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The stack's port is one setting, stack.prefect_port (config/settings.toml, default 4200), passed through from
# the environment or the command line: `make demo CRISIS_STACK__PREFECT_PORT=4300`.
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME ?= $(CURDIR)/var/prefect
export CRISIS_PROJECT_DIR := $(CURDIR)

.PHONY: venv demo test test-fast bench eval lodo lint up down deploy clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m tasks.monitoring.sentiment_model
	touch $(STAMP)

venv: $(STAMP)

demo: venv  ## generate a scenario and run the whole lifecycle through the deployments
	mkdir -p var/prefect
	$(VENV)/bin/crisis demo

# Test files run on TEST_WORKERS pytest-xdist processes, a file per worker at a time (module fixtures such as a
# Prefect server stay shared), in the order tests/conftest.py gives: longest first. xdist's own reorder would put
# the files with the most tests first and the two-minute single-test files last. Most integration tests wait on
# servers, so more workers than the 2 cores here: 4 took 366 s, 3 took 393 s, 5 took 377 s (one run each, 2026-12-05).
# `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= 4
XDIST = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

test: venv  ## the whole suite (unit, tasks, flows, integration with Prefect server, SMTP, PostgreSQL)
	$(PY) -m pytest -q -p no:cacheprovider --durations=20 $(XDIST)

test-fast: venv  ## pure and task tests only
	$(PY) -m pytest -q -p no:cacheprovider $(XDIST) tests/unit tests/tasks

bench: venv  ## throughput benchmarks as ratios against baselines (var/bench/latest.json)
	$(PY) -m benchmarks

eval: venv  ## quality figures on ../shared/data (var/eval/latest.json)
	$(PY) -m benchmarks.evaluate

lodo: venv  ## the sentiment recipe's leave-one-domain-out check, blend vs NB alone (var/lodo/latest.json)
	$(PY) -m benchmarks.lodo --nb

lint: venv
	$(VENV)/bin/ruff check cli flows tasks config tests benchmarks

up: venv  ## start Prefect server, SMTP sink, deployments and a worker in the background
	mkdir -p var/prefect
	$(VENV)/bin/crisis up

down: venv  ## stop only what `make up` / `make demo` started
	$(VENV)/bin/crisis down

deploy: venv  ## apply prefect.yaml to the server at PREFECT_API_URL
	$(VENV)/bin/prefect work-pool create crisis --type process || true
	$(VENV)/bin/prefect --no-prompt deploy --all

clean: down
	rm -rf var
