"""Live tests: a real server process on a free loopback port, on its own database.

The server itself is started by tests/live/server.py; these are its fixtures.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from .server import LiveServer, running_server


@pytest.fixture(scope="session")
def echo_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The shared server with default settings."""
    with running_server(tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture
def start_server(tmp_path):
    """Start servers with extra environment variables; each is stopped afterwards."""
    numbers = itertools.count()
    with ExitStack() as servers:

        def start(app: str = "wsaudio_site.asgi:application", **env: str) -> LiveServer:
            workdir = tmp_path / f"server{next(numbers)}"
            return servers.enter_context(running_server(workdir, app, **env))

        yield start
