"""Every session limit through the consumer, with small settings and at the edges."""

import asyncio
import json
import time

import numpy as np
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from echo.sessions.limits import SESSIONS
from wsaudio_site.asgi import application

from .conftest import expect_close, open_session, send_control

RATE = 8000


def frame(samples: int, fmt: str = "<f4") -> bytes:
    return (np.arange(samples) % 100 / 100).astype(fmt).tobytes()


@pytest.fixture
def small_frames(settings):
    settings.WSAUDIO_MAX_FRAME_SECONDS = 0.125  # 1000 samples at 8000 Hz
    settings.WSAUDIO_BURST_SECONDS = 0.125


@pytest.mark.parametrize("fmt", ["f32", "s16"])
async def test_a_frame_of_max_samples_is_echoed_and_one_sample_more_closes_4413(
    small_frames, fmt
):
    dtype = {"f32": "<f4", "s16": "<i2"}[fmt]
    async with open_session(f"/ws/echo/{RATE}/?format={fmt}") as (comm, ready):
        assert ready["max_frame_samples"] == ready["limits"]["max_frame_samples"]
        exact = frame(ready["max_frame_samples"], dtype)
        await comm.send_to(bytes_data=exact)
        assert await comm.receive_from() == exact
        await comm.send_to(bytes_data=frame(1001, dtype))
        assert await comm.receive_json_from() == {
            "type": "error",
            "code": "frame_too_large",
            "frame": 1,
            "max_frame_samples": 1000,
            "detail": "the frame has 1001 samples; max_frame_samples is 1000",
        }
        assert await expect_close(comm) == 4413


async def test_the_49th_counted_error_leaves_the_session_open_and_the_50th_closes_it():
    async with open_session() as (comm, _):
        for i in range(49):
            if i % 2:
                await comm.send_to(bytes_data=b"\x00")
            else:
                await comm.send_to(text_data="not json")
            error = await comm.receive_json_from()
            assert error["code"] in ("bad_frame", "bad_message")
        pong = await send_control(comm, {"type": "ping", "id": 49})
        assert pong["id"] == 49
        await comm.send_to(bytes_data=b"\x00\x00\x00")
        last = await comm.receive_json_from()
        assert (last["code"], last["frame"]) == ("bad_frame", 24)
        final = await comm.receive_json_from()
        assert final["code"] == "too_many_errors"
        assert "frame" not in final
        assert await expect_close(comm) == 4429


async def test_rate_limited_frames_do_not_spend_the_error_budget(settings, clock):
    settings.WSAUDIO_MAX_ERRORS = 2
    settings.WSAUDIO_MAX_FRAME_SECONDS = 0.125
    settings.WSAUDIO_BURST_SECONDS = 0.125
    async with open_session(f"/ws/echo/{RATE}/") as (comm, _):
        await comm.send_to(bytes_data=frame(1000))
        await comm.receive_from()
        for _ in range(5):
            await comm.send_to(bytes_data=frame(1000))
            assert (await comm.receive_json_from())["code"] == "rate_limited"
        assert (await send_control(comm, "x"))["code"] == "bad_message"
        assert (await send_control(comm, {"type": "stats"}))["errors"] == 6


async def test_too_many_messages_a_second_closes_4429(settings, clock):
    settings.WSAUDIO_MAX_MESSAGES_PER_SECOND = 10
    async with open_session() as (comm, _):
        for i in range(10):
            assert (await send_control(comm, {"type": "ping", "id": i}))["id"] == i
        await comm.send_to(bytes_data=frame(1024))
        error = await comm.receive_json_from()
        assert error["code"] == "too_many_messages"
        assert "frame" not in error
        assert await expect_close(comm) == 4429


async def test_the_message_bucket_refills_one_second_of_messages_a_second(
    settings, clock
):
    settings.WSAUDIO_MAX_MESSAGES_PER_SECOND = 10
    async with open_session() as (comm, _):
        for _ in range(5):
            for i in range(10):
                assert (await send_control(comm, {"type": "ping", "id": i}))["id"] == i
            clock.advance(1.0)


async def test_audio_beyond_the_burst_is_dropped_and_the_session_goes_on(
    small_frames, settings, clock
):
    settings.WSAUDIO_MAX_REALTIME_FACTOR = 1.0
    async with open_session(f"/ws/echo/{RATE}/") as (comm, ready):
        assert ready["limits"]["burst_seconds"] == 0.125
        sent = frame(1000)
        await comm.send_to(bytes_data=sent)
        assert await comm.receive_from() == sent
        for index, dropped in ((1, 1), (2, 2)):
            await comm.send_to(bytes_data=sent)
            error = await comm.receive_json_from()
            assert (error["code"], error["frame"], error["dropped"]) == (
                "rate_limited",
                index,
                dropped,
            )
        clock.advance(0.125)
        await comm.send_to(bytes_data=sent)
        assert await comm.receive_from() == sent
        report = await send_control(comm, {"type": "stats"})
        assert (report["frames_in"], report["rate_limited_frames"]) == (2, 2)


async def test_a_client_at_exactly_the_realtime_factor_is_never_limited(
    small_frames, settings, clock
):
    settings.WSAUDIO_MAX_REALTIME_FACTOR = 4.0
    async with open_session(f"/ws/echo/{RATE}/") as (comm, _):
        sent = frame(1000)
        for _ in range(200):
            await comm.send_to(bytes_data=sent)
            assert await comm.receive_from() == sent
            clock.advance(1000 / RATE / 4.0)
        report = await send_control(comm, {"type": "stats"})
        assert report["rate_limited_frames"] == 0


async def test_a_silent_session_gets_idle_timeout_then_close_4408(settings):
    settings.WSAUDIO_IDLE_TIMEOUT = 0.3
    async with open_session() as (comm, ready):
        assert ready["limits"]["idle_timeout"] == 0.3
        error = await comm.receive_json_from(timeout=5)
        assert error == {
            "type": "error",
            "code": "idle_timeout",
            "detail": "no message for 0.3 seconds",
        }
        assert await expect_close(comm) == 4408


async def test_a_session_that_keeps_talking_is_not_idle(settings):
    settings.WSAUDIO_IDLE_TIMEOUT = 1.0
    async with open_session() as (comm, _):
        for _ in range(25):  # 2.5 s
            await asyncio.sleep(0.1)
            assert (await send_control(comm, {"type": "ping"}))["type"] == "pong"


async def test_a_full_server_says_busy_and_closes_4503_until_a_seat_is_free(
    settings, async_client
):
    settings.WSAUDIO_MAX_SESSIONS = 2
    async with open_session() as _, open_session() as _:
        info = json.loads((await async_client.get("/api/info/")).content)
        assert (info["sessions_open"], info["limits"]["max_sessions"]) == (2, 2)
        third = WebsocketCommunicator(application, "/ws/echo/16384/")
        assert (await third.connect())[0]
        error = await third.receive_json_from()
        assert (error["code"], error["detail"]) == (
            "busy",
            "this server holds its maximum of 2 sessions; retry later, with backoff",
        )
        assert await expect_close(third) == 4503
        await third.disconnect()
        assert SESSIONS.taken == 2
    async with open_session() as (_, ready):
        assert ready["type"] == "ready"
    info = json.loads((await async_client.get("/api/info/")).content)
    assert info["sessions_open"] == 0


async def test_bad_parameters_win_over_a_full_server(settings):
    settings.WSAUDIO_MAX_SESSIONS = 1
    async with open_session():
        comm = WebsocketCommunicator(application, "/ws/echo/1/")
        await comm.connect()
        assert (await comm.receive_json_from())["code"] == "bad_request"
        assert await expect_close(comm) == 4400
        await comm.disconnect()


async def test_a_session_cancelled_without_a_disconnect_gives_its_seat_back():
    comm = WebsocketCommunicator(application, "/ws/echo/16384/")
    await comm.connect()
    await comm.receive_json_from()
    assert SESSIONS.taken == 1
    comm.future.cancel()  # what Daphne does to an application that outstays
    with pytest.raises(asyncio.CancelledError):
        await comm.future
    assert SESSIONS.taken == 0


async def test_a_session_closed_by_an_error_gives_its_seat_back_on_disconnect(
    small_frames,
):
    async with open_session(f"/ws/echo/{RATE}/") as (comm, _):
        await comm.send_to(bytes_data=frame(2000))
        await comm.receive_json_from()
        assert await expect_close(comm) == 4413
        assert SESSIONS.taken == 1  # until Daphne reports the disconnect
    assert SESSIONS.taken == 0


async def test_a_disconnect_frees_the_seat_without_waiting_for_the_database_thread():
    comm = WebsocketCommunicator(application, "/ws/echo/16384/")
    await comm.connect()
    await comm.receive_json_from()
    # Hold the one thread Channels runs database work on, as a slow query would.
    busy = asyncio.ensure_future(sync_to_async(time.sleep)(1.0))
    await asyncio.sleep(0.1)
    await comm.send_input({"type": "websocket.disconnect", "code": 1006})
    await asyncio.sleep(0.2)
    assert SESSIONS.taken == 0
    assert comm.future.done()  # the consumer ended on its own...
    assert not busy.done()  # ...while the database thread was still busy
    await busy
    await comm.wait()
