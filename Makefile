# The two commands: `make run` (the whole site on embedded defaults) and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PYTHONUNBUFFERED := 1
HOST ?= 127.0.0.1
PORT ?= 8000
export SITE_URL ?= http://$(HOST):$(PORT)

.PHONY: run test test-clock lint format messages bench-search install install-dev clean

run: $(VENV)/.runtime
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py createcachetable
	DEBUG=1 $(BIN)/python manage.py load_demo
	DEBUG=1 $(BIN)/python manage.py rebuild_search_index
	@echo "Starting web, worker and beat, each restarted if it stops; the URL and the demo"
	@echo "credentials follow once all three are up (Ctrl-C stops all three)."
	DEBUG=1 HOST=$(HOST) $(BIN)/honcho start --procfile Procfile --port $(PORT)

test: $(VENV)/.dev
	$(BIN)/pytest $(PYTEST_ARGS)

# The suite (browser tests aside) with the clock moved to each date where date code tends to
# break: next New Year, both clock changes, 29 February, a Saturday at 23:59 (tests/clock.py).
test-clock: $(VENV)/.dev
	@status=0; for moment in $$($(BIN)/python -m tests.clock --moved-clocks); do \
		echo "== the suite with the clock at $$moment"; \
		TEST_CLOCK=$$moment $(BIN)/pytest -q -m "not browser" $(PYTEST_ARGS) || status=1; \
	done; exit $$status

# Ruff, then the import contracts in pyproject.toml ([tool.importlinter]; README, Architecture).
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Extract the strings of every app into <app>/locale/es and compile the catalogues.
messages: $(VENV)/.dev
	for app in helpcenter foundation kb cases notifications insights api webhooks; do \
		(cd $$app && DEBUG=1 ../$(BIN)/python ../manage.py makemessages -l es -e html,txt,py,md --no-obsolete) || exit 1; \
	done
	DEBUG=1 $(BIN)/python manage.py compilemessages --ignore=.venv

bench-search: $(VENV)/.dev
	$(BIN)/python bench/search.py

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

clean:
	rm -rf var/test var/static
