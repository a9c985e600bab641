# GreenLight: `make demo` runs the main job, `make test` runs the tests, `make lint` checks style and imports.
# Each sets up what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint browser venv bench clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Runs on the embedded SQLite database unless DATABASE_URL names another one.
# DEBUG defaults on for the demo: it needs no SECRET_KEY and serves the admin on localhost.
# The embedded SQLite database is the demo's own: emptied each time (--reset). A DATABASE_URL may name real
# data, so the demo then refuses a database that is not empty instead.
demo: venv
	DEBUG=$${DEBUG:-true} $(PY) manage.py demo $(if $(DATABASE_URL),,--reset) $(DEMO_ARGS)

test: venv browser
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff, the import contracts of .importlinter (design.md "Imports run one way"), then mypy.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) greenlight.sqlite3* staticfiles test-artifacts
