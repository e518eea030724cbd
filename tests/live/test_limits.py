"""Every limit's close code on the wire under a real server; neighbours live on."""

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import numpy as np
import pytest
import websockets

from .server import running_server
from .wire import info, messages_until_close, ready

pytestmark = pytest.mark.live

RATE = 8000
FRAME = 500  # 62.5 ms at 8000 Hz
STRICT = {
    "WSAUDIO_MAX_FRAME_SECONDS": "0.125",  # 1000 samples at 8000 Hz
    "WSAUDIO_BURST_SECONDS": "0.25",
    "WSAUDIO_MAX_REALTIME_FACTOR": "2.0",
    "WSAUDIO_MAX_ERRORS": "5",
    "WSAUDIO_MAX_MESSAGES_PER_SECOND": "40",
    "WSAUDIO_IDLE_TIMEOUT": "1.5",
    "WSAUDIO_MAX_SESSIONS": "3",
    "WSAUDIO_MAX_PENDING_SECONDS": "0.5",
    "WSAUDIO_MAX_PROCESSING_BACKLOG_SECONDS": "0.75",
    "WSAUDIO_PROCESSING_BUDGET": "0.3",
}


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("strict"), **STRICT) as server:
        yield server


def audio(samples: int = FRAME) -> bytes:
    return np.linspace(-0.5, 0.5, samples, dtype="<f4").tobytes()


async def still_serving(server) -> None:
    """A new session on the same server gets ready and its frame back."""
    async with websockets.connect(f"{server.ws_url}/ws/echo/{RATE}/") as ws:
        await ready(ws)
        await ws.send(audio())
        assert await asyncio.wait_for(ws.recv(), 10) == audio()


@asynccontextmanager
async def neighbour(server) -> AsyncIterator[None]:
    """A session open beside the offending one, pinging twice a second throughout."""
    async with websockets.connect(f"{server.ws_url}/ws/echo/{RATE}/") as ws:
        await ready(ws)

        async def keep_pinging() -> None:
            for i in itertools.count():
                await ws.send(json.dumps({"type": "ping", "id": i}))
                await asyncio.sleep(0.5)

        pinger = asyncio.create_task(keep_pinging())
        yield
        pinger.cancel()
        await ws.send(audio())
        replies = []
        while (reply := await asyncio.wait_for(ws.recv(), 10)) != audio():
            replies.append(json.loads(reply))
        assert [r["id"] for r in replies] == list(range(len(replies)))
        assert {r["type"] for r in replies} == {"pong"}


async def offend(server, path: str, offence) -> tuple[list, int | None]:
    """Open a session, commit ``offence`` on it, and return what came back."""
    async with websockets.connect(f"{server.ws_url}{path}") as ws:
        await offence(ws)
        return await messages_until_close(ws)


def kinds(received: list) -> list[str]:
    """Each message by its error code, or its type; binary replies as 'frame'."""
    return [
        "frame" if isinstance(m, bytes) else m.get("code", m["type"]) for m in received
    ]


async def nothing(ws) -> None:
    pass


async def one_sample_too_many(ws) -> None:
    await ws.send(audio(1001))


async def five_bad_frames(ws) -> None:
    for _ in range(5):
        await ws.send(b"\x00\x00\x00")


async def ping_flood(ws) -> None:
    for i in range(60):
        await ws.send(json.dumps({"type": "ping", "id": i}))


@pytest.mark.parametrize(
    ("path", "offence", "expected", "close"),
    [
        ("/ws/echo/1/", nothing, ["bad_request"], 4400),
        (f"/ws/echo/{RATE}/", one_sample_too_many, ["ready", "frame_too_large"], 4413),
        (
            f"/ws/echo/{RATE}/",
            five_bad_frames,
            ["ready"] + ["bad_frame"] * 5 + ["too_many_errors"],
            4429,
        ),
        (f"/ws/echo/{RATE}/", nothing, ["ready", "idle_timeout"], 4408),
    ],
    ids=["bad_request", "frame_too_large", "too_many_errors", "idle_timeout"],
)
async def test_each_breach_gets_its_error_then_its_close_code(
    strict_server, path, offence, expected, close
):
    async with neighbour(strict_server):
        received, code = await offend(strict_server, path, offence)
    assert kinds(received) == expected
    assert code == close
    await still_serving(strict_server)


async def test_a_message_flood_gets_too_many_messages_then_4429(strict_server):
    async with neighbour(strict_server):
        received, code = await offend(strict_server, f"/ws/echo/{RATE}/", ping_flood)
    replies = kinds(received)
    # The bucket holds 40 and refills 40 a second while the flood is in flight.
    assert replies[0] == "ready"
    assert replies[-1] == "too_many_messages"
    assert 40 <= len(replies[1:-1]) < 60
    assert set(replies[1:-1]) == {"pong"}
    assert code == 4429
    await still_serving(strict_server)


async def test_the_frame_too_large_error_names_the_frame_and_the_maximum(strict_server):
    async def after_a_good_and_a_bad_frame(ws) -> None:
        await ws.send(audio())
        await ws.send(b"\x00")
        await ws.send(audio(4000))

    received, code = await offend(
        strict_server, f"/ws/echo/{RATE}/", after_a_good_and_a_bad_frame
    )
    assert kinds(received) == ["ready", "frame", "bad_frame", "frame_too_large"]
    assert received[1] == audio()
    assert received[3] == {
        "type": "error",
        "code": "frame_too_large",
        "frame": 2,
        "max_frame_samples": 1000,
        "detail": "the frame has 4000 samples; max_frame_samples is 1000",
    }
    assert code == 4413


async def test_a_full_server_says_busy_with_4503_and_serves_the_ones_it_holds(
    strict_server,
):
    url = f"{strict_server.ws_url}/ws/echo/{RATE}/"
    async with (
        websockets.connect(url) as first,
        websockets.connect(url) as second,
        websockets.connect(url) as third,
    ):
        for ws in (first, second, third):
            await ready(ws)
        assert info(strict_server)["sessions_open"] == 3
        async with websockets.connect(url) as fourth:
            received, code = await messages_until_close(fourth)
        assert [message["code"] for message in received] == ["busy"]
        assert code == 4503
        for ws in (first, second, third):
            await ws.send(audio())
            assert await ws.recv() == audio()
    await still_serving(strict_server)


async def test_audio_faster_than_allowed_is_dropped_and_the_session_stays(
    strict_server,
):
    url = f"{strict_server.ws_url}/ws/echo/{RATE}/"
    async with websockets.connect(url) as ws:
        await ready(ws)
        for _ in range(12):  # 750 ms of audio at once; the burst holds 250 ms
            await ws.send(audio())
        replies = [await asyncio.wait_for(ws.recv(), 10) for _ in range(12)]
        echoed = [i for i, reply in enumerate(replies) if reply == audio()]
        limited = [json.loads(r) for r in replies if isinstance(r, str)]
        assert echoed[:4] == [0, 1, 2, 3]  # the full bucket
        assert len(echoed) + len(limited) == 12
        assert [e["code"] for e in limited] == ["rate_limited"] * len(limited)
        assert [e["dropped"] for e in limited] == list(range(1, len(limited) + 1))
        assert sorted(echoed + [e["frame"] for e in limited]) == list(range(12))
        assert len(limited) >= 4
        await asyncio.sleep(0.2)  # 2x real time refills 400 ms of audio
        await ws.send(audio())
        assert await asyncio.wait_for(ws.recv(), 10) == audio()


async def test_a_session_that_pings_outlives_the_idle_timeout(strict_server):
    url = f"{strict_server.ws_url}/ws/echo/{RATE}/"
    async with websockets.connect(url) as ws:
        await ready(ws)
        for i in range(8):  # 4 s, against an idle timeout of 1.5 s
            await asyncio.sleep(0.5)
            await ws.send(json.dumps({"type": "ping", "id": i}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["id"] == i


async def test_limits_are_announced_in_ready_and_api_info(strict_server):
    async with websockets.connect(f"{strict_server.ws_url}/ws/echo/{RATE}/") as ws:
        limits = (await ready(ws))["limits"]
    expected = {
        "max_message_bytes": 1048576,
        "max_frame_seconds": 0.125,
        "max_sessions": 3,
        "max_errors": 5,
        "max_messages_per_second": 40,
        "burst_seconds": 0.25,
        "max_realtime_factor": 2.0,
        "idle_timeout": 1.5,
        "max_pending_seconds": 0.5,
        "max_processing_backlog_seconds": 0.75,
        "processing_budget": 0.3,
    }
    assert limits == {"max_frame_samples": 1000, **expected}
    assert info(strict_server)["limits"] == expected


async def test_a_message_over_the_transport_cap_drops_only_its_own_connection(
    echo_server,
):
    url = f"{echo_server.ws_url}/ws/echo/16384/"
    async with websockets.connect(url) as neighbour:
        await ready(neighbour)
        async with websockets.connect(url, max_size=None) as ws:
            await ready(ws)
            await ws.send(b"\x00" * (1048576 + 4))
            received, code = await messages_until_close(ws)
        # No error; Daphne sends no close frame (1006), Uvicorn closes with 1009.
        assert (received, code) == (
            [],
            {"daphne": None, "uvicorn": 1009}[echo_server.kind],
        )
        await neighbour.send(audio())
        assert await neighbour.recv() == audio()
