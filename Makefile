# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# `make run PORT=8080` serves on another port.
PORT ?= 8000

.PHONY: run test test-fast lint check bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[test]"
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

test: $(VENV)/.installed-test /usr/bin/chromium $(NODE_CLIENTS)/node_modules/.installed
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

# Everything but the slow and browser tests: the lane to run while working.
test-fast: $(VENV)/.installed-test $(NODE_CLIENTS)/node_modules/.installed
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -m "not slow and not browser"

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(VENV)/.installed-test
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var/test artifacts staticfiles $(NODE_CLIENTS)/node_modules
