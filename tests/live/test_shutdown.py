"""SIGTERM drains a real server: every session that had its ``ready`` gets
``shutting_down`` and 4502, handshakes are refused and /healthz says 503 while it
drains, every record is written, and the process exits within its grace."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.conftest import sine

from ..extra_processors import SLEEPY, SLEEPY_SECONDS
from .records import records
from .wire import WAIT, messages_until_close, ready

pytestmark = pytest.mark.live

RATE = 16384
FRAME = sine(RATE, 1024 / RATE, 440).tobytes()  # 62.5 ms of audio
FRAME_SECONDS = 1024 / RATE
SHORT_FRAME = FRAME[: 256 * 4]
# Frames a sleepy session holds in its processing lane when SIGTERM comes: the
# drain waits for their replies, so it lasts about HELD_FRAMES * 20 ms, on every
# run, however idle or busy the machine.
HELD_FRAMES = 80
GRACE = 10.0
# What a refused handshake gets: Daphne can only refuse with 403.
REFUSED_STATUS = {"daphne": 403, "uvicorn": 503}


@dataclass
class Seen:
    """What one client saw of its session."""

    ready: str | None = None  # the session id, once ready came
    replies: int = 0
    errors: list[str] = field(default_factory=list)
    close_code: int | None = None
    refused_status: int | None = None  # the handshake's HTTP status, if refused
    unreachable: bool = False  # nothing listened any more


async def stream_in_real_time(url: str, seen: Seen) -> None:
    """Send frames at the audio's pace and read what comes back until the close."""
    async with websockets.connect(url) as ws:
        seen.ready = (await ready(ws))["session"]

        async def send_forever() -> None:
            start = time.monotonic()
            for index in range(10**6):
                await asyncio.sleep(start + index * FRAME_SECONDS - time.monotonic())
                await ws.send(FRAME)

        sender = asyncio.create_task(send_forever())
        try:
            await read_until_close(ws, seen)
        finally:
            sender.cancel()


async def read_until_close(ws, seen: Seen) -> None:
    received, seen.close_code = await messages_until_close(ws)
    for message in received:
        if isinstance(message, bytes):
            seen.replies += 1
        elif message["type"] == "error":
            seen.errors.append(message["code"])


async def open_one(url: str) -> tuple[Seen, asyncio.Task | None]:
    """One handshake: refused, unreachable, or a session read to its end by a task."""
    seen = Seen()
    try:
        ws = await websockets.connect(url, open_timeout=WAIT)
    except InvalidStatus as refused:
        seen.refused_status = refused.response.status_code
        return seen, None
    except OSError:
        seen.unreachable = True
        return seen, None
    try:
        first = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    except websockets.ConnectionClosed as closed:
        seen.close_code = closed.rcvd.code if closed.rcvd else None
        return seen, None
    assert first["type"] == "ready", first
    seen.ready = first["session"]
    return seen, asyncio.create_task(read_until_close(ws, seen))


async def connect_in_a_loop(url: str, attempts: list[Seen]) -> None:
    """Open sessions one after another, until nothing listens any more."""
    readers = []
    try:
        while not (attempts and attempts[-1].unreachable):
            seen, reader = await open_one(url)
            attempts.append(seen)
            if reader is not None:
                readers.append(reader)
            await asyncio.sleep(0.02)
        await asyncio.gather(*readers)
    finally:
        for reader in readers:
            reader.cancel()


def poll_healthz(url: str, statuses: list[int], stop: list[bool]) -> None:
    """/healthz's status every 20 ms, until the server is gone (or ``stop``)."""
    while not stop:
        try:
            with urllib.request.urlopen(url, timeout=WAIT) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
        except OSError:
            return
        time.sleep(0.02)


async def hold_the_lane(url: str, seen: Seen) -> websockets.ClientConnection:
    """A sleepy session with HELD_FRAMES frames waiting for the processing thread."""
    ws = await websockets.connect(url)
    seen.ready = (await ready(ws))["session"]
    for _ in range(HELD_FRAMES):
        await ws.send(SHORT_FRAME)
    # Once the first is answered, the server has read the others (sent before it).
    assert await asyncio.wait_for(ws.recv(), WAIT) == SHORT_FRAME
    seen.replies += 1
    return ws


async def test_sigterm_closes_every_session_with_4502_and_exits_within_the_grace(
    start_server, capsys
):
    server = start_server(
        WSAUDIO_PROCESSORS=SLEEPY,
        WSAUDIO_METRICS_FLUSH_SECONDS="3600",  # only the drain writes records
        WSAUDIO_SHUTDOWN_GRACE=str(GRACE),
    )
    echo = f"{server.ws_url}/ws/echo/{RATE}/"
    streams = [Seen() for _ in range(6)]
    attempts: list[Seen] = []
    held = Seen()
    statuses: list[int] = []
    stop_polling: list[bool] = []

    streaming = [asyncio.create_task(stream_in_real_time(echo, s)) for s in streams]
    connecting = asyncio.create_task(connect_in_a_loop(echo, attempts))
    polling = asyncio.create_task(
        asyncio.to_thread(
            poll_healthz, f"{server.http_url}/healthz", statuses, stop_polling
        )
    )
    try:
        await asyncio.sleep(0.5)
        holder = await hold_the_lane(f"{echo}?processor=sleepy", held)
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        await read_until_close(holder, held)
        exit_code = await asyncio.to_thread(server.process.wait, GRACE + 5)
        exited_after = time.monotonic() - signalled
        await asyncio.wait_for(asyncio.gather(*streaming, connecting), WAIT)
    finally:
        stop_polling.append(True)
        for task in (*streaming, connecting):
            task.cancel()
    await polling

    assert exit_code is not None and exited_after < GRACE
    for seen in streams:
        assert (seen.errors, seen.close_code) == (["shutting_down"], 4502)
        assert seen.replies > 0
    # The held frames were answered before the close: the drain waited for them.
    assert (held.replies, held.errors, held.close_code) == (
        HELD_FRAMES,
        ["shutting_down"],
        4502,
    )
    sessions = [seen for seen in attempts if seen.ready]
    for seen in sessions:
        assert (seen.errors, seen.close_code) == (["shutting_down"], 4502)
    refused = [seen.refused_status for seen in attempts if seen.refused_status]
    assert refused and set(refused) == {REFUSED_STATUS[server.kind]}
    # What the handshakes that raced the hand-over to the server saw.
    raced = [
        seen
        for seen in attempts
        if not (seen.ready or seen.refused_status or seen.unreachable)
    ]
    assert all(seen.close_code is None for seen in raced)  # 1006: a dropped TCP
    assert 200 in statuses and statuses[-1] == 503
    assert statuses[statuses.index(503) :] == [503] * statuses.count(503)
    with capsys.disabled():
        print(
            f"\n{server.kind}: exited {exited_after:.2f} s after SIGTERM; "
            f"{len(attempts)} handshakes: {len(sessions)} ready (all got 4502), "
            f"{len(refused)} refused with HTTP {refused[0]}, {len(raced)} raced "
            f"the hand-over (1006), {sum(s.unreachable for s in attempts)} found "
            "nothing listening"
        )

    written = records(server)
    everyone = [*streams, held, *sessions]
    for seen in everyone:
        row = written[seen.ready.replace("-", "")]
        assert row["ended_at"] is not None
        assert (row["ended_by"], row["close_code"], row["close_error"]) == (
            "shutdown",
            4502,
            "shutting_down",
        )
    assert len(written) == len(everyone)


async def test_the_grace_running_out_hands_over_to_the_server(start_server):
    server = start_server(
        WSAUDIO_PROCESSORS=SLEEPY,
        WSAUDIO_METRICS_FLUSH_SECONDS="3600",
        WSAUDIO_SHUTDOWN_GRACE="0.5",  # a third of what the held frames take
    )
    held = Seen()
    holder = await hold_the_lane(
        f"{server.ws_url}/ws/echo/{RATE}/?processor=sleepy", held
    )
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    await read_until_close(holder, held)
    await asyncio.to_thread(server.process.wait, WAIT)
    exited_after = time.monotonic() - signalled
    assert 0.5 <= exited_after < HELD_FRAMES * SLEEPY_SECONDS
    # Cut off by the server's own shutdown: Daphne drops it, Uvicorn sends 1012.
    assert held.replies < HELD_FRAMES and held.errors == []
    assert held.close_code == {"daphne": None, "uvicorn": 1012}[server.kind]
    assert "grace ran out with 1 session(s) still open" in server.output()
    row = records(server)[held.ready.replace("-", "")]
    assert row["ended_at"] is not None and row["ended_by"] == "shutdown"


async def test_a_second_sigterm_hands_over_at_once(start_server):
    server = start_server(
        WSAUDIO_PROCESSORS=SLEEPY,
        WSAUDIO_METRICS_FLUSH_SECONDS="3600",
        WSAUDIO_SHUTDOWN_GRACE="60",
    )
    held = Seen()
    holder = await hold_the_lane(
        f"{server.ws_url}/ws/echo/{RATE}/?processor=sleepy", held
    )
    server.process.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.2)
    assert server.process.poll() is None  # draining: the held frames take 1.6 s
    server.process.send_signal(signal.SIGTERM)
    await read_until_close(holder, held)
    await asyncio.to_thread(server.process.wait, WAIT)
    assert held.replies < HELD_FRAMES and held.errors == []
    assert "a second SIGTERM: stopping with 1 session(s) still open" in server.output()
