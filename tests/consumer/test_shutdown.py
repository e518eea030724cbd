"""A draining process, driven in-process: open sessions get ``shutting_down`` and
4502 after what they are owed, handshakes are refused, records say why."""

import asyncio

import numpy as np
import pytest
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient

from echo.models import SessionRecord
from echo.shutdown import Drain
from tests.conftest import sine
from tests.extra_processors import GATE, GATED
from wsaudio_site.asgi import application

from .conftest import expect_close, open_session

RATE = 16384
FRAME = sine(RATE, 1024 / RATE, 440).astype(np.float32).tobytes()


@pytest.fixture
def drain(monkeypatch) -> Drain:
    """This test's own drain, never installed: no signal reaches it."""
    fresh = Drain()
    monkeypatch.setattr("echo.consumers.DRAIN", fresh)
    monkeypatch.setattr("echo.views.DRAIN", fresh)
    return fresh


async def told_to_go(comm: WebsocketCommunicator) -> tuple[dict, int]:
    """The error a session gets as the process drains, and the close after it."""
    error = await comm.receive_json_from()
    return error, await expect_close(comm)


@pytest.mark.django_db(transaction=True)
async def test_open_sessions_are_closed_with_4502_and_recorded_as_shutdown(
    drain, flusher, close_sync_thread_connections
):
    async with (
        open_session() as (first, first_ready),
        open_session(f"/ws/echo/{RATE}/?format=s16") as (second, second_ready),
    ):
        await first.send_to(bytes_data=FRAME)
        assert await first.receive_from() == FRAME
        drained = drain.begin()
        for comm in (first, second):
            error, close_code = await told_to_go(comm)
            assert (error["code"], close_code) == ("shutting_down", 4502)
            assert "reconnect" in error["detail"]
            assert not drained.done()  # the drain waits for the session to close
    await asyncio.wait_for(drained, 5)
    rows = {
        row.uuid.hex: row async for row in SessionRecord.objects.all()
    }  # written by the drain, before it hands over
    for ready in (first_ready, second_ready):
        row = rows[ready["session"].replace("-", "")]
        assert row.ended_at is not None
        assert (row.ended_by, row.close_code, row.close_error) == (
            "shutdown",
            4502,
            "shutting_down",
        )


async def test_a_heavy_session_gets_the_replies_it_is_owed_before_4502(drain, settings):
    settings.WSAUDIO_PROCESSORS = [GATED]
    GATE.clear()
    try:
        async with open_session(f"/ws/echo/{RATE}/?processor=gated") as (comm, _):
            for _ in range(3):
                await comm.send_to(bytes_data=FRAME)
            await asyncio.sleep(0.05)  # the first is held on its thread
            drain.begin()
            await asyncio.sleep(0.05)
            GATE.set()
            for _ in range(3):
                assert await comm.receive_from(timeout=5) == FRAME
            error, close_code = await told_to_go(comm)
            assert (error["code"], close_code) == ("shutting_down", 4502)
    finally:
        GATE.set()


async def test_handshakes_are_refused_while_the_process_drains(drain):
    before = (await AsyncClient().get("/api/info/")).json()["sessions_refused"]
    await asyncio.wait_for(drain.begin(), 5)  # no session: over at once
    # Daphne turns a close before accept into HTTP 403.
    comm = WebsocketCommunicator(application, f"/ws/echo/{RATE}/")
    assert await comm.connect() == (False, 1000)
    # Uvicorn lets the application answer the handshake itself: 503.
    comm = WebsocketCommunicator(application, f"/ws/echo/{RATE}/")
    comm.scope["extensions"] = {"websocket.http.response": {}}
    await comm.send_input({"type": "websocket.connect"})
    start = await comm.receive_output()
    assert (start["type"], start["status"]) == ("websocket.http.response.start", 503)
    assert (await comm.receive_output())["type"] == "websocket.http.response.body"
    after = (await AsyncClient().get("/api/info/")).json()["sessions_refused"]
    assert after["shutting_down"] - before["shutting_down"] == 2


@pytest.mark.django_db
async def test_healthz_says_503_while_the_process_drains(
    drain, close_sync_thread_connections
):
    assert (await AsyncClient().get("/healthz")).status_code == 200
    drain.draining = True
    health = await AsyncClient().get("/healthz")
    assert health.status_code == 503
    assert health.json() == {"status": "unavailable", "draining": True}
