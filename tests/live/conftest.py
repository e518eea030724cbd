"""Live tests: a real daphne process on a free loopback port, on its own database."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from echo.protocol import MAX_MESSAGE_BYTES

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"Listening on TCP address 127\.0\.0\.1:(\d+)")
STARTUP_SECONDS = 30
# What `make run` passes (the Makefile's DAPHNE_FLAGS; a unit test keeps them equal).
DAPHNE_FLAGS = (
    f"--websocket-max-message-size {MAX_MESSAGE_BYTES} "
    f"--websocket-max-frame-size {MAX_MESSAGE_BYTES} --websocket_timeout -1"
).split()


@dataclass
class LiveServer:
    """One daphne process; ``log`` holds everything it printed."""

    process: subprocess.Popen
    port: int
    log: Path
    env: dict[str, str]

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def prepared_env(workdir: Path, **overrides: str) -> dict[str, str]:
    """Environment for a server with its own migrated SQLite file and static root."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "DJANGO_STATIC_ROOT": str(workdir / "static"),
        "DJANGO_SECRET_KEY": "live-test-secret-key-not-for-deployment-0123456789",
        "PYTHONUNBUFFERED": "1",
        **overrides,
    }
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        subprocess.run(
            [sys.executable, "manage.py", *command, "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
    return env


def start_daphne(
    env: dict[str, str], log: Path, app: str = "wsaudio_site.asgi:application"
) -> LiveServer:
    """Start daphne on port 0 and wait until it says which port it got."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", *DAPHNE_FLAGS]
            + ["-b", "127.0.0.1", "-p", "0", app],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if match := LISTENING.search(log.read_text(errors="replace")):
            return LiveServer(process, int(match.group(1)), log, env)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    stop(process)
    raise RuntimeError(f"daphne did not start:\n{log.read_text(errors='replace')}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_server(
    workdir: Path, app: str = "wsaudio_site.asgi:application", **env: str
) -> Iterator[LiveServer]:
    """A daphne process with its own database and extra environment variables."""
    workdir.mkdir(exist_ok=True)
    server = start_daphne(prepared_env(workdir, **env), workdir / "daphne.log", app)
    try:
        yield server
    finally:
        stop(server.process)


@pytest.fixture(scope="session")
def daphne_server(tmp_path_factory) -> Iterator[LiveServer]:
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
