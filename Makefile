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

# The scale-path tests need real PostgreSQL and Redis: scripts/services.sh installs and
# starts throwaway ones (or says why it cannot, and those tests are skipped with that
# reason); they are stopped however pytest ends.
test: setup
	@CHROMIUM_PATH=$$(scripts/ensure-chromium.sh) && export CHROMIUM_PATH && \
	  $(PY) -m ruff check --output-format concise . && \
	  export SCALE_SERVICES_DIR=/tmp/callboard-scale-run-$$$$ && \
	  trap 'scripts/services.sh stop' EXIT && trap 'exit 130' INT TERM && \
	  eval "$$(scripts/services.sh start)" && \
	  $(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	@$(PY) -m ruff check .
