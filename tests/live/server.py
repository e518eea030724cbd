"""A real server process (Daphne or Uvicorn) on a free loopback port, on its own
database.

That database is a SQLite file, or a new PostgreSQL database when DATABASE_URL
names one, dropped when the server stops. The live tests and the benchmarks use it;
WSAUDIO_LIVE_SERVER=uvicorn runs the live tests under Uvicorn instead of Daphne.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from echo.protocol import MAX_MESSAGE_BYTES

ROOT = Path(__file__).resolve().parents[2]
# What each server prints once it listens, with the port it got.
LISTENING = {
    "daphne": re.compile(r"Listening on TCP address 127\.0\.0\.1:(\d+)"),
    "uvicorn": re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)"),
}
SERVERS = tuple(LISTENING)
STARTUP_SECONDS = 30
# How long a server may take to exit after SIGTERM: its drain's grace (10 s by
# default) and a margin, before it is killed.
STOP_SECONDS = 20
# What `make run` passes (the Makefile's DAPHNE_FLAGS; a unit test keeps them equal).
DAPHNE_FLAGS = (
    f"--websocket-max-message-size {MAX_MESSAGE_BYTES} "
    f"--websocket-max-frame-size {MAX_MESSAGE_BYTES} --websocket_timeout -1"
).split()
# The documented Uvicorn command's flags (docs/protocol.md, README.md): the same
# cap, and no permessage-deflate (which browsers offer), whose zlib per frame buys
# nothing for PCM audio; Daphne does not compress either.
UVICORN_FLAGS = (
    f"--ws-max-size {MAX_MESSAGE_BYTES} --ws-per-message-deflate false".split()
)


def default_server() -> str:
    """The server the live tests run against: WSAUDIO_LIVE_SERVER, else daphne."""
    server = os.environ.get("WSAUDIO_LIVE_SERVER", "daphne")
    if server not in SERVERS:
        raise ValueError(f"WSAUDIO_LIVE_SERVER={server!r}: use one of {SERVERS}")
    return server


@dataclass
class LiveServer:
    """One server process; ``log`` holds everything it printed."""

    process: subprocess.Popen
    port: int
    log: Path
    env: dict[str, str]
    kind: str = "daphne"  # which server software: one of SERVERS
    app: str = "wsaudio_site.asgi:application"
    command_prefix: tuple[str, ...] = ()
    restarts: int = 0

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def output(self) -> str:
        """What the server printed; after a restart, what every process printed."""
        logs = [self.log.with_suffix(f".{n}.log") for n in range(self.restarts)]
        return "".join(log.read_text(errors="replace") for log in [*logs, self.log])

    def restart(self, after_exit: Callable[[], None] | None = None) -> None:
        """Stop the process with SIGTERM, wait for it to exit, run ``after_exit``
        (the server is down), and start the same server on the same port and
        database; ``process`` is the new one, the old log is kept."""
        stop(self.process)
        if after_exit is not None:
            after_exit()
        self.log.rename(self.log.with_suffix(f".{self.restarts}.log"))
        self.restarts += 1
        started = start_server(
            self.env, self.log, self.app, self.command_prefix, self.kind, self.port
        )
        self.process = started.process


def is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in ("postgres", "postgresql")


@contextmanager
def temporary_database(workdir: Path) -> Iterator[str]:
    """The DATABASE_URL of a new, empty database for one server.

    A SQLite file in ``workdir``; on PostgreSQL, a database created beside the
    tests' own and dropped afterwards, even if the server never started.
    """
    url = os.environ.get("DATABASE_URL", "")
    if not is_postgres(url):
        yield f"sqlite:///{workdir / 'db.sqlite3'}"
        return
    name = f"wsaudio_live_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlsplit(url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            drop = sql.SQL("DROP DATABASE {} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(name)))


@contextmanager
def database_unreachable(database_url: str) -> Iterator[None]:
    """While inside, a server on ``database_url`` cannot reach its database."""
    if not is_postgres(database_url):
        database = Path(database_url.removeprefix("sqlite:///"))
        aside = database.with_name("aside.sqlite3")
        database.rename(aside)
        database.mkdir()  # SQLite cannot open a directory
        try:
            yield
        finally:
            database.rmdir()
            aside.rename(database)
        return
    name = urlsplit(database_url).path.removeprefix("/")
    allow = sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}")
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as admin:
        admin.execute(allow.format(sql.Identifier(name), sql.SQL("false")))
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            [name],
        )
        try:
            yield
        finally:
            admin.execute(allow.format(sql.Identifier(name), sql.SQL("true")))


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


def server_command(kind: str, app: str, port: int = 0) -> list[str]:
    """The documented command of server ``kind`` for ``app``, on ``port`` (0: a
    free one)."""
    if kind == "daphne":
        return ["daphne", *DAPHNE_FLAGS, "-b", "127.0.0.1", "-p", str(port), app]
    if kind == "uvicorn":
        return [
            "uvicorn",
            *UVICORN_FLAGS,
            *("--host", "127.0.0.1", "--port", str(port), app),
        ]
    raise ValueError(f"unknown server {kind!r}: use one of {SERVERS}")


def start_server(
    env: dict[str, str],
    log: Path,
    app: str = "wsaudio_site.asgi:application",
    command_prefix: Sequence[str] = (),
    kind: str = "daphne",
    port: int = 0,
) -> LiveServer:
    """Start server ``kind`` on ``port`` (0: a free one) and wait until it says
    which port it got.

    ``command_prefix`` wraps the command (``taskset -c 0``); it must exec the
    server, so that the process is the server's own.
    """
    command = server_command(kind, app, port)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*command_prefix, sys.executable, "-m", *command],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if match := LISTENING[kind].search(log.read_text(errors="replace")):
            port = int(match.group(1))
            return LiveServer(process, port, log, env, kind, app, tuple(command_prefix))
        if process.poll() is not None:
            break
        time.sleep(0.05)
    stop(process)
    raise RuntimeError(f"{kind} did not start:\n{log.read_text(errors='replace')}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_server(
    workdir: Path,
    app: str = "wsaudio_site.asgi:application",
    *,
    command_prefix: Sequence[str] = (),
    kind: str | None = None,
    **env: str,
) -> Iterator[LiveServer]:
    """A server process with its own database and extra environment variables;
    ``kind`` defaults to default_server()."""
    kind = kind or default_server()
    workdir.mkdir(exist_ok=True)
    with temporary_database(workdir) as database_url:
        env = prepared_env(workdir, **{"DATABASE_URL": database_url, **env})
        log = workdir / f"{kind}.log"
        server = start_server(env, log, app, command_prefix, kind)
        try:
            yield server
        finally:
            stop(server.process)
