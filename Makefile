# Two commands matter: `make run` and `make test`. Everything else here serves them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Django 6.1 needs Python 3.12 or newer. Look for one: $HINDSIGHT_PYTHON, then versioned names
# on PATH, then pyenv's installs (its shims only answer with PYENV_VERSION set, so ask the
# interpreters directly), then plain python3.
PYTHON := $(shell for p in "$$HINDSIGHT_PYTHON" python3.13 python3.12 python3.14 \
	$$HOME/.pyenv/versions/3.13*/bin/python3 $$HOME/.pyenv/versions/3.12*/bin/python3 \
	/usr/local/bin/python3 /usr/bin/python3 python3; do \
	[ -n "$$p" ] && command -v "$$p" >/dev/null 2>&1 && \
	"$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && \
	{ command -v "$$p"; break; }; done)
# A uv on PATH only counts if it answers (a pyenv shim may not), else one installed into var/.
UV := $(shell uv --version >/dev/null 2>&1 && command -v uv || echo var/bootstrap/bin/uv)
VENV := .venv
export UV_PYTHON_DOWNLOADS ?= never
export UV_LINK_MODE ?= copy

# axe-core checks every page the browser tests open against WCAG 2 A and AA; npm puts it in var/.
AXE_CORE_VERSION := 4.11.0
AXE_CORE := var/node_modules/.axe-core-$(AXE_CORE_VERSION)

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/hindsight
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: help run test lint format check-python browser clean

help:
	@echo "make run   - install, migrate, load the demo data and serve on http://127.0.0.1:8000"
	@echo "make test  - the whole test suite on PostgreSQL and Redis, browser tests included"
	@echo "make lint  - ruff, and lint-imports for the layer contract in pyproject.toml"

check-python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "Hindsight needs Python 3.12 or newer and found none."; \
		echo "Install one (python.org, your package manager, 'pyenv install 3.13' or 'uv python install 3.13')"; \
		echo "or point HINDSIGHT_PYTHON at its interpreter, then run make again."; \
		exit 1; fi

$(UV): | check-python
	@echo "uv not found; installing it into var/bootstrap"
	@mkdir -p var && "$(PYTHON)" -m venv var/bootstrap && var/bootstrap/bin/pip install -q uv

$(VENV)/.synced: pyproject.toml uv.lock | check-python $(UV)
	$(UV) sync --frozen --python "$(PYTHON)"
	@touch $@

run: $(VENV)/.synced
	$(VENV)/bin/python -m hindsight.devserver

browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Debian's Chromium for the browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else echo "The browser tests need Chromium at /usr/bin/chromium (Debian: apt-get install chromium)"; exit 1; fi; fi

$(AXE_CORE):
	@command -v npm >/dev/null || { echo "The browser tests need npm for axe-core (Debian: apt-get install npm)"; exit 1; }
	npm install --prefix var --no-save --no-audit --no-fund --loglevel=error axe-core@$(AXE_CORE_VERSION)
	@touch $@

test: $(VENV)/.synced browser $(AXE_CORE)
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
		$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.synced
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var/bootstrap
