"""A client that keeps sending but stops reading is closed with not_reading (4509)
once max_pending_seconds of its replies wait, and its neighbours hear nothing of it.

Only Uvicorn's send waits for a client that stopped reading, so only under Uvicorn
can the bound be kept; these tests start a Uvicorn server whatever the pass.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
import websockets

from .records import ended_records
from .wire import WAIT, messages_until_close, ready

pytestmark = pytest.mark.live

RATE = 16384
FRAME = RATE  # one second of audio per frame
PENDING_SECONDS = 2
# Enough audio to fill the operating system's buffers first: on loopback, Linux
# holds several MiB of a connection's output in each direction (tcp_wmem and
# tcp_rmem; minutes of this audio) before the server sees any stall. At real time
# that would take minutes, so the stalled client sends as fast as the server takes
# it (no audio rate limit here).
STALLED_FRAMES = 640  # 40 MiB
NEIGHBOUR_FRAMES = 48  # 3 s of 1024-sample frames at real time


def frame(index: int, samples: int = FRAME) -> bytes:
    """Noise, different in every frame: no transport could shrink it."""
    noise = np.random.default_rng(index).uniform(-0.5, 0.5, samples)
    return noise.astype("<f4").tobytes()


async def test_a_client_that_stops_reading_is_closed_with_4509_and_loses_no_neighbour(
    start_server,
):
    server = start_server(
        kind="uvicorn",
        WSAUDIO_MAX_PENDING_SECONDS=str(PENDING_SECONDS),
        WSAUDIO_MAX_REALTIME_FACTOR="0",
        WSAUDIO_METRICS_FLUSH_SECONDS="0.2",
    )
    url = f"{server.ws_url}/ws/echo/{RATE}/"
    # max_queue=1: the client library stops reading the socket after one message.
    async with (
        websockets.connect(url, max_queue=1, compression=None) as stalled,
        websockets.connect(url, compression=None) as neighbour,
    ):
        stalled_session = (await ready(stalled))["session"]
        await ready(neighbour)

        async def neighbour_echoes() -> list[bytes]:
            replies = []
            start = time.monotonic()
            for index in range(NEIGHBOUR_FRAMES):
                await asyncio.sleep(max(0.0, start + index / 16 - time.monotonic()))
                await neighbour.send(frame(index, 1024))
                replies.append(await asyncio.wait_for(neighbour.recv(), WAIT))
            return replies

        async def send_without_reading() -> None:
            for index in range(STALLED_FRAMES):
                await stalled.send(frame(index))

        neighbour_replies, _ = await asyncio.gather(
            neighbour_echoes(), send_without_reading()
        )
        # Reading again: what the server sent before it gave up, then why.
        received, code = await messages_until_close(stalled)

    assert neighbour_replies == [
        frame(index, 1024) for index in range(NEIGHBOUR_FRAMES)
    ]
    replies = [message for message in received if isinstance(message, bytes)]
    (error,) = [message for message in received if isinstance(message, dict)]
    assert received[-1] == error
    assert (error["code"], code) == ("not_reading", 4509)
    assert replies == [frame(index) for index in range(len(replies))]

    (record,) = await ended_records(server, stalled_session)
    assert (record["ended_by"], record["close_code"]) == ("server", 4509)
    assert record["close_error"] == "not_reading"
    assert record["frames_out"] == len(replies)
    # The frame that took the replies waiting past max_pending_seconds, and those
    # queued before it, were dropped; the one the server already held went out.
    assert record["frames_in"] - record["frames_out"] == PENDING_SECONDS
    assert record["frames_in"] < STALLED_FRAMES  # closed long before the end
