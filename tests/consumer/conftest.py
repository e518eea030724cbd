"""Fast consumer tests: the whole ASGI application, driven in-process."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from echo.records import flusher as records_flusher
from echo.sessions.limits import SESSIONS
from wsaudio_site.asgi import application


@asynccontextmanager
async def open_session(
    path: str = "/ws/echo/16384/", headers: list[tuple[bytes, bytes]] | None = None
) -> AsyncIterator[tuple[WebsocketCommunicator, dict]]:
    """A connected communicator and the ``ready`` message it got."""
    communicator = WebsocketCommunicator(application, path, headers=headers or [])
    connected, _ = await communicator.connect()
    assert connected
    try:
        ready = await communicator.receive_json_from()
        assert ready["type"] == "ready", ready
        yield communicator, ready
    finally:
        await communicator.disconnect()


async def send_control(communicator: WebsocketCommunicator, message) -> dict:
    """Send a text message (JSON-encoded unless already a str); return the reply."""
    text = message if isinstance(message, str) else json.dumps(message)
    # send_to() refuses an empty message; a real client can send one.
    await communicator.send_input({"type": "websocket.receive", "text": text})
    return await communicator.receive_json_from()


async def stats(communicator: WebsocketCommunicator) -> dict:
    return await send_control(communicator, {"type": "stats"})


async def expect_close(communicator: WebsocketCommunicator) -> int:
    """The close code the server sends next (no other output may come first)."""
    output = await communicator.receive_output()
    assert output["type"] == "websocket.close", output
    return output["code"]


class FakeClock:
    """Stands in for the consumer's monotonic clock; moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr("echo.consumers.monotonic", fake)
    return fake


@pytest.fixture
async def close_sync_thread_connections():
    """For tests that use the database: the ORM calls run on asgiref's one sync
    thread, whose connections must not outlive the test database's access
    (Channels touches them before each handler)."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture(autouse=True)
def no_session_outlives_its_test():
    """Each test ends with this process's session count back where it started."""
    SESSIONS.taken = 0  # a leak is reported by the test that caused it, not later
    yield
    assert SESSIONS.taken == 0, "a session kept its seat after its disconnect"


@pytest.fixture(autouse=True)
def flusher(monkeypatch) -> records_flusher.MetricsFlusher:
    """This test's own metrics flusher: records start empty and stay in the test."""
    fresh = records_flusher.MetricsFlusher(records_flusher.save_records)
    monkeypatch.setattr(records_flusher, "FLUSHER", fresh)
    yield fresh
    fresh.close()
