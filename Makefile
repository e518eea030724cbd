# The README's two commands: `make run` serves, `make test` runs every test.
# Both set up .venv first (reinstalling only when a requirements file changed).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The transport cap of docs/protocol.md (echo.protocol.MAX_MESSAGE_BYTES), and no
# 24-hour cut-off: WSAUDIO_IDLE_TIMEOUT ends abandoned sessions instead.
DAPHNE_FLAGS := --websocket-max-message-size 1048576 --websocket-max-frame-size 1048576 --websocket_timeout -1

.PHONY: run test lint bench

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

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest

bench: $(VENV)/.runtime-installed
	$(BIN)/python bench/frame_cost.py --write
