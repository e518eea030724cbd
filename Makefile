# The README's two commands: `make run` serves, `make test` runs every test.
# Both set up .venv first (reinstalling only when a requirements file changed).
# `make test` installs the Debian packages the tests need, then runs tests/js under
# Node, the whole pytest suite on SQLite (tests/browser in headless Chromium
# included), the tests marked `database` again on a private PostgreSQL, and the live
# tests again under Uvicorn; `make test-js`, `make test-sqlite`, `make
# test-postgres` and `make test-uvicorn` run one of them.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The transport cap of docs/protocol.md (echo.protocol.MAX_MESSAGE_BYTES), and no
# 24-hour cut-off: WSAUDIO_IDLE_TIMEOUT ends abandoned sessions instead.
DAPHNE_FLAGS := --websocket-max-message-size 1048576 --websocket-max-frame-size 1048576 --websocket_timeout -1
# The same cap under Uvicorn, and no per-message compression (zlib per frame of PCM).
UVICORN_FLAGS := --ws-max-size 1048576 --ws-per-message-deflate false
# The PostgreSQL of the second pass (and of the benchmarks that use one): a private
# throwaway cluster per run (scripts/private_postgres.py), unless TEST_POSTGRES_URL
# names a server of your own; the tests create their databases beside its database.
ifdef TEST_POSTGRES_URL
WITH_POSTGRES := env DATABASE_URL='$(TEST_POSTGRES_URL)' TEST_POSTGRES_URL='$(TEST_POSTGRES_URL)'
POSTGRES_CHECK := postgres='$(TEST_POSTGRES_URL)'
else
WITH_POSTGRES := $(BIN)/python scripts/private_postgres.py
POSTGRES_CHECK := postgres-server
endif

.PHONY: run run-uvicorn test test-sqlite test-postgres test-uvicorn test-js provision services lint bench bench-ab bench-processors bench-gil bench-records bench-admin bench-capacity bench-heavy

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "wsaudio needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

run: $(VENV)/.runtime-installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/daphne $(DAPHNE_FLAGS) -b $(HOST) -p $(PORT) wsaudio_site.asgi:application

# Uvicorn: more sessions per core, and the bound on clients that stop reading
# (docs/protocol.md); the choice for public deployments.
run-uvicorn: $(VENV)/.runtime-installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/uvicorn $(UVICORN_FLAGS) --host $(HOST) --port $(PORT) wsaudio_site.asgi:application

# ruff, and the import contracts of pyproject.toml: the layers of the README's layout.
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

# Installs the Debian packages of scripts/debian-packages.txt that are missing (as
# root, or through sudo without a password), or stops with the apt-get line to run.
provision:
	$(PYTHON) scripts/provision.py

# Stops before any test runs, saying what is missing: PostgreSQL's server programs
# (or the server at TEST_POSTGRES_URL), Chromium for tests/browser
# (WSAUDIO_CHROMIUM, else /usr/bin/chromium), espeak-ng for the voice processors'
# tests and Node.js for tests/js.
services: $(VENV)/.dev-installed
	$(BIN)/python scripts/require_services.py $(POSTGRES_CHECK) chromium espeak-ng node

test: provision lint services test-js test-sqlite test-postgres test-uvicorn

test-sqlite: $(VENV)/.dev-installed
	env -u DATABASE_URL $(BIN)/pytest

test-postgres: services
	$(WITH_POSTGRES) $(BIN)/pytest -m database

# The live protocol tests again, each server under Uvicorn instead of Daphne.
test-uvicorn: $(VENV)/.dev-installed
	env -u DATABASE_URL WSAUDIO_LIVE_SERVER=uvicorn $(BIN)/pytest -m live

# The browser client's DSP and protocol modules (static/echo/) under Node's runner.
test-js:
	node --test tests/js/*.test.js

bench: $(VENV)/.runtime-installed
	$(BIN)/python bench/frame_cost.py --write

# About a minute: echo's frame path in this tree against revision BEFORE, the two
# timed in turns in one sitting (docs/frame-path-ab.md).
bench-ab: $(VENV)/.runtime-installed
	$(BIN)/python bench/frame_path_ab.py --before $(BEFORE) --write

# About a minute: whether each audio library, and each heavy processor, releases the
# GIL (two threads against one; a section of docs/processors.md).
bench-gil: $(VENV)/.runtime-installed
	$(BIN)/python bench/gil_release.py --write

# About 2 minutes: each processor's cost per frame beside echo, its memory, and what
# building, priming and configuring it take (a section of docs/processors.md).
bench-processors: $(VENV)/.runtime-installed
	$(BIN)/python bench/processor_cost.py --write

# About 3.5 minutes: 1,000 live sessions against daphne, on SQLite and PostgreSQL.
bench-records: services
	$(WITH_POSTGRES) sh -c '$(BIN)/python bench/metrics_flush.py --write --postgres-url "$$DATABASE_URL"'

# A few minutes: the admin's list of audio sessions with 10,000 and 100,000
# records, on SQLite and PostgreSQL.
bench-admin: services
	$(WITH_POSTGRES) sh -c '$(BIN)/python bench/admin_page.py --write --postgres-url "$$DATABASE_URL"'

# About 30 minutes: real-time streams per core under Daphne, under Uvicorn and for
# a plain websockets echo, 10,000 idle sessions, and clients that stop reading.
bench-capacity: $(VENV)/.runtime-installed
	$(BIN)/python bench/capacity.py --write

# About 10 minutes: streams of denoise and of vad per core, as ratios to echo's.
bench-heavy: $(VENV)/.runtime-installed
	$(BIN)/python bench/heavy_capacity.py --write
