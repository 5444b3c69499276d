# The two commands of the README: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export DEMO_MODE ?= 1
export DEBUG ?= 0

.PHONY: demo test install install-dev lint migrate worker clean-db

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt

install-dev: $(BIN)/python tests/oidc/node_modules/.package-lock.json
	$(BIN)/pip install --quiet -r requirements-dev.txt

# The OpenID provider of the OIDC end-to-end test, reinstalled when its lock file changes. node is
# optional: without it that test skips.
tests/oidc/node_modules/.package-lock.json: tests/oidc/package-lock.json
	command -v npm >/dev/null && (cd tests/oidc && npm ci --silent --no-audit --no-fund) || true

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	PORT=$(PORT) $(BIN)/python manage.py run_demo

# Two workers on fresh test databases (--create-db: a reused schema could hide a migration problem).
test: install-dev
	DEMO_MODE=0 $(BIN)/python -m pytest --create-db -n $(or $(PYTEST_WORKERS),2) $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	DEMO_MODE=1 $(BIN)/python manage.py makemigrations --check --dry-run

worker: install
	$(BIN)/python manage.py qcluster
