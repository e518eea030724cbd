"""Heavy chains: off the event loop, in order, admitted by cost, closed when behind."""

import numpy as np
import pytest
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient

from echo.models import SessionRecord
from tests.conftest import sine
from tests.extra_processors import (
    GATE,
    GATED,
    HEAVY_FAILS,
    PURE_DELAY,
    SLEEPY,
    SLEEPY_COST,
)
from wsaudio_site.asgi import application

from .conftest import expect_close, open_session

RATE = 16384
FRAME = sine(RATE, 1024 / RATE, 440)


def frame(index: int) -> bytes:
    """A distinct frame for each index, so replies show their order."""
    return (FRAME * (1 - index / 64)).astype(np.float32).tobytes()


@pytest.fixture(autouse=True)
def heavy_processors(settings):
    settings.WSAUDIO_PROCESSORS = [SLEEPY, HEAVY_FAILS, PURE_DELAY, GATED]
    GATE.clear()
    yield
    GATE.set()  # lets a frame still held finish, so its thread is free again


async def processing() -> dict:
    return (await AsyncClient().get("/api/info/")).json()["processing"]


async def test_replies_and_answers_of_a_heavy_session_keep_their_order():
    GATE.set()
    async with open_session(f"/ws/echo/{RATE}/?processor=sleepy,gain") as (comm, _):
        for index in range(3):
            await comm.send_to(bytes_data=frame(index))
        await comm.send_json_to({"type": "ping", "id": "after 3"})
        await comm.send_json_to(
            {"type": "configure", "id": 1, "processor": "gain", "options": {"db": 0}}
        )
        await comm.send_to(bytes_data=frame(3))
        await comm.send_json_to({"type": "stats"})
        for index in range(3):
            assert await comm.receive_from(timeout=5) == frame(index)
        assert (await comm.receive_json_from())["id"] == "after 3"
        assert (await comm.receive_json_from())["type"] == "configured"
        assert await comm.receive_from(timeout=5) == frame(3)
        assert (await comm.receive_json_from())["frames_in"] == 4


async def test_other_sessions_are_answered_while_a_heavy_frame_is_processed():
    async with (
        open_session(f"/ws/echo/{RATE}/?processor=gated") as (held, _),
        open_session(f"/ws/echo/{RATE}/") as (echo, _),
    ):
        await held.send_to(bytes_data=frame(0))
        await held.send_json_to({"type": "ping", "id": 0})
        for index in range(5):
            await echo.send_to(bytes_data=frame(index))
            assert await echo.receive_from() == frame(index)
        assert await held.receive_nothing(timeout=0.1)
        GATE.set()
        assert await held.receive_from(timeout=5) == frame(0)
        assert (await held.receive_json_from())["type"] == "pong"


async def test_an_error_that_closes_a_heavy_session_comes_after_the_replies_before_it():
    async with open_session(f"/ws/echo/{RATE}/?processor=gated") as (comm, _):
        await comm.send_to(bytes_data=frame(0))
        await comm.send_to(bytes_data=bytes(4 * (RATE + 1)))  # over max_frame_samples
        await comm.send_to(bytes_data=frame(2))  # after the close was decided
        assert await comm.receive_nothing(timeout=0.1)
        GATE.set()
        assert await comm.receive_from(timeout=5) == frame(0)
        error = await comm.receive_json_from()
        assert (error["code"], error["frame"]) == ("frame_too_large", 1)
        assert await expect_close(comm) == 4413
    assert (await processing())["heavy_sessions"] == 0


async def test_a_session_whose_frames_wait_too_long_is_closed_with_4504(settings):
    settings.WSAUDIO_MAX_PROCESSING_BACKLOG_SECONDS = 0.1  # 1638 samples at 16384 Hz
    async with open_session(f"/ws/echo/{RATE}/?processor=gated") as (comm, _):
        assert (await processing())["heavy_sessions"] == 1
        await comm.send_to(bytes_data=frame(0))  # 1024 samples wait: within
        await comm.send_to(bytes_data=frame(1))  # 2048: beyond
        error = await comm.receive_json_from()
        assert error["code"] == "processing_behind"
        assert "0.1 seconds of audio" in error["detail"]
        assert await expect_close(comm) == 4504
        # Its budget is free at once, before the frame held on its thread is done.
        after = await processing()
        assert (after["heavy_sessions"], after["in_use"]) == (0, 0)


async def test_the_budget_refuses_the_session_that_would_pass_it_and_not_light_ones(
    settings,
):
    settings.WSAUDIO_PROCESSING_BUDGET = 1.0  # two sleepy sessions fit, not three
    path = f"/ws/echo/{RATE}/?processor=sleepy"
    async with open_session(path), open_session(path) as (second, _):
        assert await processing() == {
            "threads": settings.WSAUDIO_PROCESSING_THREADS,
            "budget": 1.0,
            "in_use": 2 * SLEEPY_COST,
            "heavy_sessions": 2,
        }
        async with open_session(f"/ws/echo/{RATE}/?processor=highpass,gain"):
            pass  # a light chain never counts
        refused = WebsocketCommunicator(application, path)
        await refused.connect()
        error = await refused.receive_json_from()
        assert error["code"] == "busy"
        assert "processing budget" in error["detail"]
        assert await expect_close(refused) == 4503
        await second.disconnect()
        assert (await processing())["in_use"] == SLEEPY_COST
        async with open_session(path) as (third, _):  # admitted again
            await third.send_to(bytes_data=frame(0))
            assert await third.receive_from(timeout=5) == frame(0)


async def test_a_heavy_processor_that_raises_closes_only_its_own_session():
    async with (
        open_session(f"/ws/echo/{RATE}/?processor=heavy_fails") as (failing, _),
        open_session(f"/ws/echo/{RATE}/?processor=sleepy") as (other, _),
    ):
        GATE.set()
        await failing.send_to(bytes_data=frame(0))
        await other.send_to(bytes_data=frame(0))
        error = await failing.receive_json_from(timeout=5)
        assert error["code"] == "processing_failed"
        assert error["frame"] == 0
        assert "heavy_fails" in error["detail"]
        assert await expect_close(failing) == 4500
        assert await other.receive_from(timeout=5) == frame(0)
        await other.send_to(bytes_data=frame(1))
        assert await other.receive_from(timeout=5) == frame(1)
    assert (await processing())["heavy_sessions"] == 0


async def test_ready_announces_the_chain_latency_and_an_impulse_comes_out_that_late():
    chain = "gain,pure_delay&pure_delay.samples=700"
    async with open_session(f"/ws/echo/{RATE}/?processor={chain}") as (comm, ready):
        assert ready["latency_samples"] == 700
        impulse = np.zeros(3 * 512, dtype=np.float32)
        impulse[5] = 0.5
        out = []
        for block in np.split(impulse, 3):
            await comm.send_to(bytes_data=block.tobytes())
            out.append(np.frombuffer(await comm.receive_from(), dtype=np.float32))
        heard = np.concatenate(out)
        assert np.flatnonzero(heard).tolist() == [705]
        assert heard[705] == pytest.approx(0.5)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_sync_thread_connections")
async def test_the_record_keeps_the_declared_cost_and_the_processing_time(flusher):
    GATE.set()
    async with open_session(f"/ws/echo/{RATE}/?processor=sleepy") as (comm, ready):
        for index in range(3):
            await comm.send_to(bytes_data=frame(index))
            await comm.receive_from(timeout=5)
    await flusher.flush()
    record = await SessionRecord.objects.aget(uuid=ready["session"])
    assert record.chain_cost == SLEEPY_COST
    assert record.processing_seconds >= 3 * 0.02  # three frames of a 20 ms sleep
    assert record.proc_us_mean >= 20_000
