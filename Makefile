# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# `make run PORT=8080` serves on another port.
PORT ?= 8000

.PHONY: run test test-fast lint check bench lock clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Exactly the locked versions (`make lock` regenerates the lock files from pyproject.toml);
# reinstall only when they change. The Dockerfile installs requirements.lock too.
$(VENV)/.installed-run: pyproject.toml requirements.lock | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml requirements-test.lock | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-test.lock
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip check
	touch $@ $(VENV)/.installed-run

/usr/bin/chromium:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null

# The Node clients the suite drives (openai, the Vercel AI SDK), exactly as locked; again only
# when the lock file changes. Node and npm come from Debian when the machine has none.
NODE_CLIENTS := tests/clients
$(NODE_CLIENTS)/node_modules/.installed: $(NODE_CLIENTS)/package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm >/dev/null; }
	cd $(NODE_CLIENTS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: $(VENV)/.installed-run
	$(PY) manage.py runstudio --setup --bind 127.0.0.1:$(PORT)

# The whole suite on SQLite, then the tests marked `servers` (the concurrency-critical ones)
# again on PostgreSQL + Redis: tests/servers.py installs them from Debian when missing, starts
# them on free ports from a temporary directory and stops them however the tests end.
test: $(VENV)/.installed-test /usr/bin/chromium $(NODE_CLIENTS)/node_modules/.installed
	$(VENV)/bin/ruff check .
	$(PY) -m pytest
	$(PY) -m tests.servers $(PY) -m pytest -m servers

# Everything but the slow and browser tests: the lane to run while working.
test-fast: $(VENV)/.installed-test $(NODE_CLIENTS)/node_modules/.installed
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -m "not slow and not browser"

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(VENV)/.installed-test
	$(PY) bench/run_all.py

# Pin every runtime and test dependency anew (after editing pyproject.toml's ranges).
LOCK := $(VENV)/bin/pip-compile --quiet --upgrade --strip-extras --no-emit-find-links \
	--no-emit-index-url --no-emit-trusted-host --extra postgres --extra s3
lock: | $(VENV)/bin/python
	$(PY) -m pip install --quiet "pip-tools>=7.4,<8"
	$(LOCK) --output-file requirements.lock pyproject.toml
	$(LOCK) --extra test --constraint requirements.lock --output-file requirements-test.lock \
		pyproject.toml

clean:
	rm -rf $(VENV) var/test artifacts staticfiles $(NODE_CLIENTS)/node_modules
