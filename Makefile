# The README's two commands: `make run` and `make test`. Each sets up .venv when needed.
SHELL := /bin/bash
PY := .venv/bin/python
export CALLBOARD_LOCAL ?= 1
PORT ?= 8000
export PORT

.PHONY: run test setup lint bench

setup:
	@scripts/bootstrap.sh

run: setup
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py demo
	@SANDBOX_DEMO_TRAFFIC=$${SANDBOX_DEMO_TRAFFIC:-true} $(PY) manage.py serve --port $(PORT)

test: setup
	@CHROMIUM_PATH=$$(scripts/ensure-chromium.sh) && export CHROMIUM_PATH && \
	  $(PY) -m ruff check --output-format concise . && \
	  $(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	@$(PY) -m ruff check .
