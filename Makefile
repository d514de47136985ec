# Qingshan: `make run` starts the product, `make test` runs the whole suite.
# Both create .venv on first use (only Python 3.11 and make are needed).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
VAR := var
PORT ?= 8000

.PHONY: run test install lint migrate demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(VAR)/secret_key:
	mkdir -p $(VAR)
	umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

# Embedded runtime: SQLite (WAL), Celery on a folder broker, mail to var/mail.
run: export DJANGO_SECRET_KEY = $(shell cat $(VAR)/secret_key 2>/dev/null)
run: export QINGSHAN_PORT = $(PORT)
run: $(STAMP) $(VAR)/secret_key
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py load_demo
	@echo ""
	@echo "  Qingshan is starting on http://127.0.0.1:$(PORT)/"
	@echo "    admin        http://127.0.0.1:$(PORT)/admin/"
	@echo "    API docs     http://127.0.0.1:$(PORT)/api/docs/"
	@echo "    readiness    http://127.0.0.1:$(PORT)/readyz"
	@echo "  Demo logins (password qingshan-demo): admin, supervisor-huzhou, supervisor-anji,"
	@echo "    supervisor-deqing, responsible-tianhuangping, inspector-wuxing, inspector-anji, ..."
	@echo "  Ctrl-C stops the web server, the worker and beat."
	@echo ""
	exec $(BIN)/honcho --procfile Procfile start

# The tests that run within pytest's process on every core (pytest-xdist, at most four
# worker processes), then those that start servers, workers, brokers' consumers or a browser
# (tests/integration/, tests/browser/) one at a time: some measure latency. Both always run;
# the target fails if either did. `--dist load` hands each worker its tests in the collection's
# order, where pytest-django puts the transactional tests after the others: a transactional
# test empties the tables at its end, rows the migrations seeded included, so a test that
# needs them must not run after one on the same worker (`--dist worksteal` let a worker steal
# such tests after its own transactional ones).
test: $(STAMP)
	$(BIN)/pytest -n auto --maxprocesses=4 --dist load --ignore=tests/integration --ignore=tests/browser; \
	in_process=$$?; \
	$(BIN)/pytest tests/integration tests/browser; processes=$$?; \
	test $$in_process -eq 0 && test $$processes -eq 0

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_SECRET_KEY=type-checking-only $(BIN)/mypy .
	$(BIN)/lint-imports --no-cache --no-logo

clean:
	rm -rf $(VAR) .pytest_cache .mypy_cache .ruff_cache
