# Two commands set everything up: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test lint install install-dev superuser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Generated once per checkout; var/ is never committed.
var/secret_key: | $(BIN)/python
	mkdir -p var
	umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > $@

# Safe to re-run: loading the fixtures adds only the people, topics and articles
# not stored yet, and keeps editors' changes to those that are. gunicorn starts
# the background task worker beside itself, and stops it with itself.
run: install var/secret_key
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_vocabulary fixtures/people.json fixtures/topics.json
	$(BIN)/python manage.py import_articles --new-only fixtures/articles
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	NEWSROOM_TASK_WORKER=1 $(BIN)/gunicorn --config gunicorn.conf.py newsroom.wsgi

superuser: install var/secret_key
	$(BIN)/python manage.py createsuperuser

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The Nu Html Checker for tests/test_html_validity.py (Java runs it). Install
# scripts stay off: vnu-jar's would download a Java; the system's is used.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch $@; \
	else echo "npm not found: the HTML validity test will be skipped"; fi

test: install-dev lint node_modules/.installed
	DJANGO_SETTINGS_MODULE=newsroom.test_settings $(BIN)/python manage.py check
	DJANGO_SETTINGS_MODULE=newsroom.test_settings $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache node_modules test-artifacts
