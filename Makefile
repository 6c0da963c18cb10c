# Paperboy — everyday commands. `make demo` and `make test` set everything up themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test run worker beat lint format migrate browser clean

$(BIN)/python:
	@echo "Creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)

# -qq: errors only (a pip configured with missing extra indexes warns once per package)
$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt requirements-lock.txt
	@echo "Installing the pinned packages into $(VENV) (first run, or after a requirements change)"
	@$(BIN)/python -m pip install -qq --upgrade pip
	@$(BIN)/python -m pip install -qq -r requirements-dev.txt -c requirements-lock.txt
	@touch $(STAMP)

var:
	@mkdir -p var/outbox var/static

migrate: $(STAMP) var
	@$(BIN)/python manage.py migrate --no-input -v 0

## demo: load the seeds and send yesterday's and today's digests to demo readers (each on their own
## local date), on SQLite, Celery eager, emails in var/outbox/; `make demo V=2` tells more
V ?= 1
demo: migrate
	@$(BIN)/python manage.py demo -v $(V)

## browser: install Debian's chromium for the real-browser tests (needs root and apt)
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian chromium for the browser tests…"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: browser tests will report a skip"; \
	else echo "No /usr/bin/chromium: install Debian's chromium package to run the browser tests"; fi

## axe: axe-core (pinned in package-lock.json) for the accessibility tests, from npm
node_modules/axe-core/axe.min.js: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --silent --no-audit --no-fund; \
	else echo "No npm: install Node.js to run the accessibility tests"; fi

## test: the whole suite (SQLite by default; DATABASE_URL / REDIS_URL switch to PostgreSQL / Redis)
test: $(STAMP) var browser node_modules/axe-core/axe.min.js
	$(BIN)/python -m pytest $(PYTEST_ARGS)

run: migrate
	$(BIN)/python manage.py runserver 127.0.0.1:8000

worker: $(STAMP)
	$(BIN)/celery -A config worker --loglevel=INFO --concurrency=2

beat: $(STAMP)
	$(BIN)/celery -A config beat --loglevel=INFO

## lint: ruff (rules and format) and mypy --strict (settings in pyproject.toml, stubs in typings/)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var/db.sqlite3 var/outbox
