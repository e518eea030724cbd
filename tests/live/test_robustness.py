"""A worker under abuse: sessions killed every way, garbage, and half-open sockets."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from echo.protocol import CloseCode

from .wire import info, messages_until_close, ready

pytestmark = pytest.mark.live

RATE = 16384
FRAME = np.sin(np.arange(1024, dtype=np.float32) / 7).astype("<f4").tobytes()
DOCUMENTED_CLOSES = {int(code) for code in CloseCode}


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(
        next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[
            1
        ]
    )


def reset(ws) -> None:
    """Drop the TCP connection with a RST: no close frame, no FIN."""
    sock = ws.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ws.transport.abort()


async def settled_rss_kib(server) -> int:
    # Daphne forgets finished connections on its once-a-second application check.
    await asyncio.sleep(2.5)
    return rss_kib(server.process.pid)


async def wait_for_sessions_open(server, count: int, within: float = 20.0) -> int:
    deadline = time.monotonic() + within
    while (now_open := info(server)["sessions_open"]) != count:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    return now_open


# Each way a session can end, from the client's side of the wire.


async def closed_normally(url: str) -> None:
    async with websockets.connect(url) as ws:
        await ready(ws)
        await ws.send(FRAME)
        assert await ws.recv() == FRAME


async def closed_by_a_bad_request(url: str) -> None:
    async with websockets.connect(url.replace(f"/{RATE}/", "/0/")) as ws:
        assert (await messages_until_close(ws))[1] == 4400


async def closed_by_a_frame_too_large(url: str) -> None:
    async with websockets.connect(url) as ws:
        await ready(ws)
        await ws.send(FRAME * 70)
        assert (await messages_until_close(ws))[1] == 4413


async def reset_after_ready(url: str) -> None:
    ws = await websockets.connect(url)
    await ready(ws)
    reset(ws)


async def reset_while_frames_are_in_flight(url: str) -> None:
    ws = await websockets.connect(url)
    await ready(ws)
    for _ in range(5):
        await ws.send(FRAME)
    reset(ws)


async def dropped_without_a_close_frame(url: str) -> None:
    ws = await websockets.connect(url)
    await ready(ws)
    ws.transport.close()  # a FIN, but no WebSocket close


async def reset_before_reading_ready(url: str) -> None:
    reset(await websockets.connect(url))


ENDINGS = [
    closed_normally,
    closed_by_a_bad_request,
    closed_by_a_frame_too_large,
    reset_after_ready,
    reset_while_frames_are_in_flight,
    dropped_without_a_close_frame,
    reset_before_reading_ready,
]


async def end_sessions(url: str, count: int, at_once: int = 25) -> None:
    for start in range(0, count, at_once):
        await asyncio.gather(
            *(
                ENDINGS[i % len(ENDINGS)](url)
                for i in range(start, min(count, start + at_once))
            )
        )


async def test_500_sessions_ended_every_way_leave_no_session_and_flat_memory(
    start_server,
):
    server = start_server()
    url = f"{server.ws_url}/ws/echo/{RATE}/"
    # The first 1000 grow the worker's buffers and allocator arenas to their
    # working size (about 10 MiB here); a leak shows as growth after that.
    await end_sessions(url, 1000)
    assert await wait_for_sessions_open(server, 0) == 0
    before = await settled_rss_kib(server)
    await end_sessions(url, 500)
    assert await wait_for_sessions_open(server, 0) == 0
    after = await settled_rss_kib(server)
    print(f"\nworker RSS: {before} KiB before, {after} KiB after 500 more sessions")
    # Rounds of 500 vary by about 1 MiB here; a leak of 6 KiB a session would
    # add 3 MiB.
    assert after - before < 3072, f"RSS grew from {before} KiB to {after} KiB"
    await closed_normally(url)
