"""Sessions that end while frames are still queued end cleanly, whoever ends them.

A test-only processor holds each frame for a few milliseconds, so that every
session below has a backlog when its connection ends: the client closes or resets
it, or the server closes it (error budget, frame too large), or both at once.
Whatever the order, the client sees a documented close code, the server logs no
traceback, and the record counts only what really went out.

Under Daphne, a reply sent after the client's close either raises or is dropped
silently, depending on whether the server's write buffer was empty at that moment;
each test runs several sessions at once so that both happen on every run.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import numpy as np
import pytest
import websockets

from ..extra_processors import SLOW
from .records import ended_records
from .robustness_checks import assert_clean_log_once_checked, wait_for_sessions_open
from .server import running_server
from .wire import WAIT, ready, reset

pytestmark = pytest.mark.live

RATE = 16384
FRAME = np.sin(np.arange(1024, dtype=np.float32) / 7).astype("<f4").tobytes()
BAD_FRAME = b"\x00"  # a partial sample: bad_frame, spends the error budget
SHORT_FRAME = FRAME[:256]  # 64 samples
TOO_LARGE = FRAME * 20  # 20480 samples: over 1 s at 16384 Hz
MAX_ERRORS = 5
BURST = 100  # frames: 0.5 s of backlog at 5 ms each
SESSIONS_AT_ONCE = 8


@pytest.fixture(scope="module")
def shared_slow_server(tmp_path_factory):
    with running_server(
        tmp_path_factory.mktemp("slow"),
        WSAUDIO_PROCESSORS=SLOW,
        WSAUDIO_MAX_ERRORS=str(MAX_ERRORS),
        WSAUDIO_MAX_REALTIME_FACTOR="0",  # bursts are the point here
        WSAUDIO_MAX_MESSAGES_PER_SECOND="100000",
        WSAUDIO_METRICS_FLUSH_SECONDS="0.2",
    ) as server:
        yield server


@pytest.fixture
async def slow_server(shared_slow_server):
    """The slow server; after the test, its log since the test began is clean and
    it holds no session."""
    since = len(shared_slow_server.output())
    yield shared_slow_server
    assert await wait_for_sessions_open(shared_slow_server, 0) == 0
    await assert_clean_log_once_checked(shared_slow_server, since)


class Client:
    """One session that sends a script in a burst while it reads every reply."""

    def __init__(self, server, write_limit: int = 2**24) -> None:
        self.server = server
        self.write_limit = write_limit
        self.replies = 0
        self.close_code: int | None = None

    async def __aenter__(self) -> Client:
        url = f"{self.server.ws_url}/ws/echo/{RATE}/?processor=slow"
        # By default the whole script goes to the socket at once, close included.
        self.ws = await websockets.connect(
            url, max_queue=None, write_limit=self.write_limit
        )
        self.session = (await ready(self.ws))["session"]
        self.reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc_info) -> None:
        await asyncio.wait_for(self.reader, WAIT * 3)

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                if isinstance(message, bytes):
                    self.replies += 1
        except websockets.ConnectionClosed:
            pass
        self.close_code = self.ws.close_code  # 1006 without a close frame

    async def send(self, *messages: bytes) -> None:
        try:
            for message in messages:
                await self.ws.send(message)
        except websockets.ConnectionClosed:
            pass  # the server closed first: the rest is never sent

    async def send_in_one_segment(self, *messages: bytes) -> None:
        """Send ``messages`` as one TCP segment, so that the server reads them all
        in one go (corked: the kernel holds what is written until uncorked)."""
        sock = self.ws.transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        await self.send(*messages)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)

    async def record(self) -> dict:
        (record,) = await ended_records(self.server, self.session, within=30)
        return record


async def at_once(
    server,
    script: Callable[[Client], Awaitable[None]],
    sessions: int = SESSIONS_AT_ONCE,
    **client_options: int,
) -> list[tuple[Client, dict]]:
    """Run ``script`` in ``sessions`` sessions at once; each client and its record."""

    async def one() -> Client:
        async with Client(server, **client_options) as client:
            await script(client)
        return client

    clients = await asyncio.gather(*(one() for _ in range(sessions)))
    return [(client, await client.record()) for client in clients]


def frames(count: int) -> list[bytes]:
    return [FRAME] * count


async def test_a_client_that_closes_behind_a_burst_gets_1000_and_a_true_count(
    slow_server,
):
    async def burst_then_close(client: Client) -> None:
        await client.send(*frames(BURST))
        await client.ws.close()

    for client, record in await at_once(slow_server, burst_then_close):
        assert client.close_code == 1000
        assert client.replies <= record["frames_out"] <= record["frames_in"] <= BURST
        assert (record["ended_by"], record["close_code"]) == ("client", 1000)


async def test_a_client_that_resets_behind_a_burst_leaves_a_true_count(slow_server):
    async def burst_then_reset(client: Client) -> None:
        await client.send(*frames(BURST))
        reset(client.ws)

    for client, record in await at_once(slow_server, burst_then_reset):
        assert client.replies <= record["frames_out"] <= record["frames_in"] <= BURST
        assert record["ended_by"] == "client"


@pytest.mark.parametrize(
    ("offence", "close_code"),
    [([BAD_FRAME] * MAX_ERRORS, 4429), ([TOO_LARGE], 4413)],
    ids=["error budget", "frame too large"],
)
async def test_a_server_close_with_a_backlog_counts_exactly_the_replies_read(
    slow_server, offence, close_code
):
    async def burst_offence_burst(client: Client) -> None:
        await client.send(*frames(BURST // 2), *offence, *frames(BURST // 2))

    # Two sessions, each writing at the pace the server reads: the client's reply
    # to the server's close must not wait longer than Daphne's close handshake
    # allows (1 s) behind frames that other sessions' slow processing holds up,
    # or Daphne drops the connection without a close code.
    paced = {"sessions": 2, "write_limit": 2**15}
    for client, record in await at_once(slow_server, burst_offence_burst, **paced):
        assert client.close_code == close_code
        # Nothing behind the offence is processed: the session had decided to close.
        assert record["frames_in"] == BURST // 2
        assert record["frames_out"] == client.replies == BURST // 2
        assert (record["ended_by"], record["close_code"]) == ("server", close_code)


async def test_a_client_close_that_crosses_a_server_close_ends_cleanly(slow_server):
    async def offence_then_close(client: Client) -> None:
        # The client's close arrives while the server still works through the
        # frames before the offence: the server decides to close a session whose
        # peer has already closed it.
        await client.send(*frames(BURST // 2), *[BAD_FRAME] * MAX_ERRORS)
        await client.ws.close()

    for client, record in await at_once(slow_server, offence_then_close):
        assert client.close_code in (1000, 4429)
        frames_out, frames_in = record["frames_out"], record["frames_in"]
        assert client.replies <= frames_out <= frames_in <= BURST // 2
        # Whichever end the session saw first: the client's close, or its own.
        assert record["close_code"] in (1000, 4429)


async def test_a_client_close_just_behind_a_server_close_gets_the_servers_code(
    slow_server,
):
    backlog = [SHORT_FRAME] * 40  # 10 KiB, one read; 0.2 s of processing

    async def offence_then_close_soon(client: Client) -> None:
        # The server reads everything at once, then works through the backlog:
        # the client's close arrives meanwhile, and is read right after the server
        # decided to close, while its replies, error and close still wait to be
        # written.
        await client.send_in_one_segment(*backlog, *[BAD_FRAME] * MAX_ERRORS)
        await asyncio.sleep(0.05)
        await client.ws.close()

    for client, record in await at_once(
        slow_server, offence_then_close_soon, sessions=1
    ):
        assert client.close_code == 4429  # not 1006: nothing was thrown away
        assert record["frames_out"] == client.replies == len(backlog)
        assert (record["ended_by"], record["close_code"]) == ("server", 4429)
