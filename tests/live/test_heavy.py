"""Heavy chains on a real server: off its event loop, admitted by cost, and closed
alone when they fall behind or fail."""

import asyncio
import time

import numpy as np
import pytest
import websockets

from tests.conftest import sine

from ..extra_processors import HEAVY_FAILS, SLEEPY, SLEEPY_COST
from .wire import WAIT, closing_error, info, messages_until_close, ready

pytestmark = pytest.mark.live

RATE = 16384
FRAME = sine(RATE, 1024 / RATE, 440).tobytes()  # 62.5 ms of audio
FRAME_SECONDS = 1024 / RATE
HEAVY = ",".join([SLEEPY, HEAVY_FAILS])


@pytest.fixture
def heavy_server(start_server):
    return start_server(
        WSAUDIO_PROCESSORS=HEAVY,
        WSAUDIO_PROCESSING_BUDGET=str(2 * SLEEPY_COST),  # two sleepy sessions
        WSAUDIO_MAX_PROCESSING_BACKLOG_SECONDS="0.5",
    )


async def stream_in_real_time(url: str, frames: int) -> list[float]:
    """Send ``frames`` frames at the audio's pace; every reply's round trip, in
    seconds (the test fails if one does not come back as sent)."""
    round_trips = []
    async with websockets.connect(url) as ws:
        await ready(ws)
        start = time.monotonic()
        for index in range(frames):
            await asyncio.sleep(
                max(0.0, start + index * FRAME_SECONDS - time.monotonic())
            )
            sent = time.monotonic()
            await ws.send(FRAME)
            assert await asyncio.wait_for(ws.recv(), WAIT) == FRAME
            round_trips.append(time.monotonic() - sent)
    return round_trips


def p99_ms(round_trips: list[float]) -> float:
    return float(np.percentile(round_trips, 99) * 1000)


async def test_an_echo_session_keeps_every_frame_beside_a_heavy_one(
    heavy_server, capsys
):
    echo = f"{heavy_server.ws_url}/ws/echo/{RATE}/"
    heavy = f"{echo}?processor=sleepy"
    alone = await stream_in_real_time(echo, 48)
    beside, heavy_trips = await asyncio.gather(
        stream_in_real_time(echo, 48), stream_in_real_time(heavy, 48)
    )
    assert len(beside) == len(heavy_trips) == 48  # every frame back, unchanged
    with capsys.disabled():  # a figure to read, not to assert: hosts differ
        print(
            f"\n  echo round trip p99: {p99_ms(alone):.1f} ms alone, "
            f"{p99_ms(beside):.1f} ms beside a session of 20 ms a frame on the "
            f"processing threads (its own p99 {p99_ms(heavy_trips):.1f} ms)"
        )


async def test_a_heavy_session_that_falls_behind_is_closed_with_4504(heavy_server):
    # 64-sample frames (3.9 ms of audio) that take 20 ms each: five times slower
    # than real time, so 0.5 s of audio soon waits for the processing threads.
    small = sine(RATE, 64 / RATE, 440).tobytes()
    url = f"{heavy_server.ws_url}/ws/echo/{RATE}/?processor=sleepy"
    async with websockets.connect(url) as ws:
        await ready(ws)
        for _ in range(200):
            await ws.send(small)
        received, code = await messages_until_close(ws)
    errors = [message for message in received if isinstance(message, dict)]
    assert [error["code"] for error in errors] == ["processing_behind"]
    assert code == 4504
    replies = [message for message in received if isinstance(message, bytes)]
    assert len(replies) < 200  # the frames waiting were dropped
    assert all(reply == small for reply in replies)
    assert info(heavy_server)["processing"]["heavy_sessions"] == 0


async def test_the_budget_refuses_the_session_that_would_pass_it_until_one_ends(
    heavy_server,
):
    url = f"{heavy_server.ws_url}/ws/echo/{RATE}/?processor=sleepy"
    async with websockets.connect(url) as first, websockets.connect(url):
        await ready(first)
        assert info(heavy_server)["processing"]["in_use"] == 2 * SLEEPY_COST
        error, code = await closing_error(url)
        assert (error["code"], code) == ("busy", 4503)
        assert "processing budget" in error["detail"]
        async with websockets.connect(f"{heavy_server.ws_url}/ws/echo/{RATE}/") as echo:
            await ready(echo)  # a light chain is admitted all the same
        await first.close()
        for _ in range(100):  # the server frees the cost as the close arrives
            if info(heavy_server)["processing"]["heavy_sessions"] == 1:
                break
            await asyncio.sleep(0.02)
        async with websockets.connect(url) as again:
            await ready(again)
            await again.send(FRAME)
            assert await asyncio.wait_for(again.recv(), WAIT) == FRAME
    assert info(heavy_server)["sessions_refused"]["busy"] == 1


async def test_a_heavy_processor_that_raises_closes_only_its_own_session(
    heavy_server,
):
    base = f"{heavy_server.ws_url}/ws/echo/{RATE}/"
    async with (
        websockets.connect(f"{base}?processor=heavy_fails") as failing,
        websockets.connect(f"{base}?processor=sleepy") as heavy,
        websockets.connect(base) as echo,
    ):
        for ws in (failing, heavy, echo):
            await ready(ws)
        await failing.send(FRAME)
        (error,), code = await messages_until_close(failing)
        assert (error["code"], error["frame"], code) == ("processing_failed", 0, 4500)
        for ws in (heavy, echo):
            await ws.send(FRAME)
            assert await asyncio.wait_for(ws.recv(), WAIT) == FRAME
