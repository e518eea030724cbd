"""Protocol v1 on the wire, against a real server process (Daphne or Uvicorn)."""

import asyncio
import json
import time

import numpy as np
import pytest
import websockets

from tests.conftest import frames, sine

from ..extra_processors import ALWAYS_FAILS
from .server import database_unreachable
from .wire import closing_error, get, ready

pytestmark = pytest.mark.live

RATE = 16384
FRAME = 1024  # 62.5 ms at 16384 Hz


async def test_three_seconds_at_real_time_pace_come_back_identical_and_in_order(
    echo_server,
):
    signal = sine(RATE, 3.0, 440)
    sent = [block.tobytes() for block in frames(signal, FRAME)]
    async with websockets.connect(f"{echo_server.ws_url}/ws/echo/{RATE}/") as ws:
        await ready(ws)

        async def send_at_real_time() -> None:
            start = time.monotonic()
            for i, data in enumerate(sent):
                # Absolute schedule: frame i leaves at i * 62.5 ms, with no drift.
                await asyncio.sleep(
                    max(0.0, start + i * FRAME / RATE - time.monotonic())
                )
                await ws.send(data)

        sender = asyncio.create_task(send_at_real_time())
        received = [await asyncio.wait_for(ws.recv(), 10) for _ in sent]
        await sender
        await ws.send(json.dumps({"type": "stats"}))
        stats = json.loads(await ws.recv())
    assert len(sent) == 48
    assert received == sent
    assert stats["frames_in"] == stats["frames_out"] == 48
    assert stats["samples_in"] == len(signal)


async def test_s16_frames_come_back_identical(echo_server):
    blocks = [np.arange(i, i + FRAME, dtype="<i2").tobytes() for i in range(10)]
    url = f"{echo_server.ws_url}/ws/echo/8000/?format=s16"
    async with websockets.connect(url) as ws:
        assert (await ready(ws))["format"] == "s16"
        for block in blocks:
            await ws.send(block)
        assert [await ws.recv() for _ in blocks] == blocks


async def test_bad_request_closes_with_4400_on_the_wire(echo_server):
    error, code = await closing_error(f"{echo_server.ws_url}/ws/echo/16000x/")
    assert error["code"] == "bad_request"
    assert "not ASCII digits" in error["detail"]
    assert code == 4400


async def test_bad_frame_and_bad_message_leave_the_session_open(echo_server):
    async with websockets.connect(f"{echo_server.ws_url}/ws/echo/16000/") as ws:
        await ready(ws)
        await ws.send(b"\x00\x00\x00")
        assert json.loads(await ws.recv()) == {
            "type": "error",
            "code": "bad_frame",
            "detail": "the frame has 3 bytes, not a whole number of 4-byte f32 samples",
            "frame": 0,
        }
        await ws.send("{")
        assert json.loads(await ws.recv())["code"] == "bad_message"
        await ws.send(json.dumps({"type": "ping", "id": 9}))
        assert json.loads(await ws.recv())["id"] == 9


async def test_processing_failure_closes_with_4500_and_the_server_goes_on(start_server):
    server = start_server(WSAUDIO_PROCESSORS=ALWAYS_FAILS)
    async with websockets.connect(
        f"{server.ws_url}/ws/echo/16000/?processor=always_fails"
    ) as ws:
        await ready(ws)
        await ws.send(np.zeros(FRAME, "<f4").tobytes())
        error = json.loads(await ws.recv())
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert (error["code"], error["frame"]) == ("processing_failed", 0)
    assert closed.value.rcvd.code == 4500
    async with websockets.connect(f"{server.ws_url}/ws/echo/16000/") as ws:
        await ready(ws)
        await ws.send(np.ones(FRAME, "<f4").tobytes())
        assert await ws.recv() == np.ones(FRAME, "<f4").tobytes()


async def test_a_foreign_origin_gets_http_403(echo_server):
    url = f"{echo_server.ws_url}/ws/echo/16000/"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, origin="http://evil.example"):
            pass
    assert refused.value.response.status_code == 403


async def test_no_origin_and_an_allowed_origin_are_accepted(echo_server):
    url = f"{echo_server.ws_url}/ws/echo/16000/"
    async with websockets.connect(url) as ws:
        await ready(ws)
    async with websockets.connect(url, origin=echo_server.http_url) as ws:
        await ready(ws)


async def test_require_origin_refuses_scripts_without_origin(start_server):
    server = start_server(WSAUDIO_REQUIRE_ORIGIN="1")
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(f"{server.ws_url}/ws/echo/16000/"):
            pass
    assert refused.value.response.status_code == 403


def test_the_page_info_docs_and_health_answer(echo_server):
    status, kind, body = get(f"{echo_server.http_url}/")
    assert (status, kind) == (200, "text/html; charset=utf-8")
    assert b"docs/protocol.md" in body
    assert get(f"{echo_server.http_url}/static/echo/site.css")[0] == 200
    status, kind, body = get(f"{echo_server.http_url}/api/info/")
    assert (status, kind) == (200, "application/json")
    info = json.loads(body)
    assert info["protocol"] == 1
    assert info["rates"] == {"min": 8000, "max": 48000, "default": 16384}
    assert [f["name"] for f in info["formats"]] == ["f32", "s16"]
    assert info["processors"][0]["name"] == "echo"
    assert get(f"{echo_server.http_url}/healthz")[:2] == (200, "application/json")
    status, _, body = get(f"{echo_server.http_url}/docs/protocol.md")
    assert status == 200
    assert body.startswith(b"# wsaudio protocol")


def test_admin_and_its_static_files_are_served_with_debug_off(echo_server):
    status, _, body = get(f"{echo_server.http_url}/admin/login/")
    assert status == 200
    assert b"/static/admin/css/base.css" in body
    status, kind, _ = get(f"{echo_server.http_url}/static/admin/css/base.css")
    assert status == 200
    assert kind.startswith("text/css")


@pytest.mark.database
def test_healthz_is_503_while_the_database_is_unreachable(start_server):
    server = start_server()
    healthz = f"{server.http_url}/healthz"
    with database_unreachable(server.env["DATABASE_URL"]):
        status, _, body = get(healthz)
        assert status == 503
        assert json.loads(body)["status"] == "unavailable"
    assert get(healthz)[0] == 200


@pytest.mark.parametrize(
    "segment", ["", "16%0A000", "16000%0A", "16%2F000", "16000/extra", "%00", "%FF"]
)
async def test_any_rate_segment_gets_bad_request_not_a_failed_handshake(
    echo_server, segment
):
    error, code = await closing_error(f"{echo_server.ws_url}/ws/echo/{segment}/")
    assert error["code"] == "bad_request"
    assert code == 4400
