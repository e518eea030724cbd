"""Session records from a real server: every way a session ends, a database that
goes away, and a server that stops."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from contextlib import closing, contextmanager

import numpy as np
import pytest
import websockets

from tests.conftest import frames, sine

from .records import ended_records, records
from .server import database_unreachable, is_postgres
from .wire import WAIT, info, messages_until_close, ready, reset

pytestmark = [pytest.mark.live, pytest.mark.database]

RATE = 16384
TONE = sine(RATE, 2.0, 1000, amplitude=0.5)  # AES17: -6.02 dBFS, peak and RMS
FRAMES = [block.tobytes() for block in frames(TONE, 1024)]  # 32 frames
FAST_RECORDS = {"WSAUDIO_METRICS_FLUSH_SECONDS": "0.2"}


async def echo_frames(ws, blocks: list[bytes], pace: float = 0.0) -> None:
    """Send each frame and check its reply comes back identical, in order."""
    for block in blocks:
        await ws.send(block)
        assert await asyncio.wait_for(ws.recv(), WAIT) == block
        await asyncio.sleep(pace)


async def test_every_way_a_session_ends_leaves_its_exact_record(start_server):
    server = start_server(**FAST_RECORDS, WSAUDIO_STORE_CLIENT_IP="1")
    url = f"{server.ws_url}/ws/echo/{RATE}/"

    async with websockets.connect(url) as ws:  # closed by the client: 1000
        normal = (await ready(ws))["session"]
        await echo_frames(ws, FRAMES)

    async with websockets.connect(url) as ws:  # closed by the server: 4413
        too_large = (await ready(ws))["session"]
        await echo_frames(ws, FRAMES[:3])
        await ws.send(np.zeros(RATE + 1, "<f4").tobytes())
        (error,), code = await messages_until_close(ws)
        assert (error["code"], code) == ("frame_too_large", 4413)

    ws = await websockets.connect(url)  # a TCP reset, no close frame: 1006
    dropped = (await ready(ws))["session"]
    await echo_frames(ws, FRAMES[:5])
    reset(ws)

    normal_row, too_large_row, dropped_row = await ended_records(
        server, normal, too_large, dropped
    )
    assert normal_row["frames_in"] == normal_row["frames_out"] == 32
    assert normal_row["bytes_in"] == normal_row["bytes_out"] == 32 * 4096
    assert normal_row["audio_seconds"] == 2.0
    assert normal_row["peak_dbfs"] == pytest.approx(-6.02, abs=0.1)
    assert normal_row["rms_dbfs"] == pytest.approx(-6.02, abs=0.1)
    assert (normal_row["ended_by"], normal_row["close_code"]) == ("client", 1000)
    assert normal_row["worker_pid"] == server.process.pid
    assert str(normal_row["client_ip"]) == "127.0.0.1"

    assert (too_large_row["frames_in"], too_large_row["errors"]) == (3, 1)
    assert too_large_row["bytes_in"] == 3 * 4096 + 4 * (RATE + 1)
    assert (too_large_row["ended_by"], too_large_row["close_code"]) == ("server", 4413)
    assert too_large_row["close_error"] == "frame_too_large"

    assert (dropped_row["frames_in"], dropped_row["bytes_out"]) == (5, 5 * 4096)
    # A lost connection: Daphne reports 1006, Uvicorn 1005.
    lost = {"daphne": 1006, "uvicorn": 1005}[server.kind]
    assert (dropped_row["ended_by"], dropped_row["close_code"]) == ("client", lost)


@contextmanager
def records_unwritable(server):
    """While inside, the server cannot write records: on PostgreSQL its database
    refuses connections; a SQLite file is held under an exclusive lock, so each
    write also waits for SQLite's 5 s timeout first (a slow and failing database)."""
    url = server.env["DATABASE_URL"]
    if is_postgres(url):
        with database_unreachable(url):
            yield
        return
    path = url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(path, isolation_level=None)) as lock:
        lock.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            lock.execute("ROLLBACK")


async def test_audio_flows_while_the_database_is_gone_and_every_record_lands_after(
    start_server,
):
    server = start_server(WSAUDIO_METRICS_FLUSH_SECONDS="1")
    url = f"{server.ws_url}/ws/echo/{RATE}/"
    async with websockets.connect(url) as ws:
        before = (await ready(ws))["session"]
        await echo_frames(ws, FRAMES[:4])
    await ended_records(server, before)

    frame_period = 1024 / RATE
    with records_unwritable(server):
        outage_ends = time.monotonic() + 12
        async with websockets.connect(url) as ws:  # ends during the outage
            during = (await ready(ws))["session"]
            await echo_frames(ws, FRAMES, pace=frame_period)
        async with websockets.connect(url) as running:  # spans the outage
            across = (await ready(running))["session"]
            sent = 0
            while time.monotonic() < outage_ends:  # real time: every frame back
                await echo_frames(running, [FRAMES[sent % 32]], pace=frame_period)
                sent += 1
            assert info(server)["metrics"]["failing"]
            assert info(server)["metrics"]["unsaved_final_records"] == 1
            assert server.output().count("could not write") == 1  # logged once

            await echo_frames(running, FRAMES[:1])
            sent += 1
    during_row, across_row = await ended_records(server, during, across)
    assert (during_row["frames_in"], during_row["close_code"]) == (32, 1000)
    assert (across_row["frames_in"], across_row["close_code"]) == (sent, 1000)
    assert during_row["peak_dbfs"] == pytest.approx(-6.02, abs=0.1)
    assert "takes records again" in server.output()
    assert not info(server)["metrics"]["failing"]


async def test_sessions_still_open_when_the_server_stops_are_written_as_it_goes(
    start_server,
):
    server = start_server(WSAUDIO_METRICS_FLUSH_SECONDS="3600")  # no tick will come
    async with websockets.connect(f"{server.ws_url}/ws/echo/{RATE}/") as ws:
        session = (await ready(ws))["session"]
        await echo_frames(ws, FRAMES[:7])
        assert records(server) == {}
        server.process.terminate()
        await asyncio.to_thread(server.process.wait, WAIT)
    (row,) = await ended_records(server, session)
    assert (row["frames_in"], row["ended_by"], row["close_code"]) == (
        7,
        "shutdown",
        4502,  # the drain's close (tests/live/test_shutdown.py)
    )


async def test_records_off_leaves_the_table_empty(start_server):
    server = start_server(**FAST_RECORDS, WSAUDIO_STORE_METRICS="0")
    async with websockets.connect(f"{server.ws_url}/ws/echo/{RATE}/") as ws:
        await ready(ws)
        await echo_frames(ws, FRAMES[:2])
    await asyncio.sleep(0.5)  # two flush periods
    assert records(server) == {}
    assert info(server)["metrics"]["stored"] is False
