"""Every rule of protocol v1, through the consumer, in process."""

import json
import os
import time
import uuid

import numpy as np
import pytest
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.conftest import frames, sine
from tests.extra_processors import ALWAYS_FAILS, AlwaysFails
from wsaudio_site.asgi import application

from .conftest import expect_close, open_session, send_control, stats

# 1024 samples at 16384 Hz = 62.5 ms, the browser client's frame.
FRAME = 1024


async def test_ready_announces_the_session_and_what_it_accepts():
    async with open_session("/ws/echo/16384/?format=s16") as (_, ready):
        assert uuid.UUID(ready.pop("session")).version == 4
        assert ready == {
            "type": "ready",
            "protocol": 1,
            "rate": 16384,
            "format": "s16",
            "processor": "echo",
            "max_frame_samples": 16384,
            "accepts": ["ping", "stats", "client_stats", "configure"],
            "chain": [{"name": "echo", "options": {}}],
            "latency_samples": 0,
            "limits": {
                "max_frame_samples": 16384,
                "max_message_bytes": 1048576,
                "max_frame_seconds": 1.0,
                "max_sessions": 1000,
                "max_errors": 50,
                "max_messages_per_second": 500,
                "burst_seconds": 2.0,
                "max_realtime_factor": 4.0,
                "idle_timeout": 60.0,
                "max_pending_seconds": 5.0,
                "max_processing_backlog_seconds": 2.0,
                # 0.8 CPU-seconds per second for each core this process may use.
                "processing_budget": 0.8 * len(os.sched_getaffinity(0)),
            },
        }


async def test_every_session_gets_its_own_id():
    async with open_session() as (_, first), open_session() as (_, second):
        assert first["session"] != second["session"]


async def test_max_frame_samples_follows_the_setting(settings):
    settings.WSAUDIO_MAX_FRAME_SECONDS = 0.25
    async with open_session("/ws/echo/44100/") as (_, ready):
        assert ready["max_frame_samples"] == 11025


async def test_frames_come_back_in_order_byte_identical_in_both_formats():
    signal = sine(16384, 1.0, 440)
    for fmt, dtype, scale in (("f32", "<f4", 1.0), ("s16", "<i2", 32767)):
        async with open_session(f"/ws/echo/16384/?format={fmt}") as (comm, _):
            sent = [
                (block * scale).astype(dtype).tobytes()
                for block in frames(signal, FRAME)
            ]
            for data in sent:
                await comm.send_to(bytes_data=data)
            assert [await comm.receive_from() for _ in sent] == sent


finite_f32_frames = hnp.arrays(
    dtype=np.dtype("<f4"),
    shape=st.integers(1, 4096),
    elements=st.floats(width=32, allow_nan=False, allow_infinity=False),
)

property_settings = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@property_settings
@given(block=finite_f32_frames)
async def test_any_finite_f32_frame_is_echoed_byte_identical(block):
    async with open_session("/ws/echo/8000/?format=f32") as (comm, _):
        await comm.send_to(bytes_data=block.tobytes())
        assert await comm.receive_from() == block.tobytes()


@property_settings
@given(data=st.binary(min_size=2, max_size=8192).filter(lambda b: len(b) % 2 == 0))
async def test_any_s16_frame_is_echoed_byte_identical(data):
    async with open_session("/ws/echo/48000/?format=s16") as (comm, _):
        await comm.send_to(bytes_data=data)
        assert await comm.receive_from() == data


async def test_nonfinite_f32_samples_come_back_as_zero_and_are_counted():
    block = np.array([0.5, np.nan, -np.inf, np.inf, -0.5], dtype="<f4")
    async with open_session() as (comm, _):
        await comm.send_to(bytes_data=block.tobytes())
        reply = np.frombuffer(await comm.receive_from(), "<f4")
        assert reply.tolist() == [0.5, 0.0, 0.0, 0.0, -0.5]
        assert (await stats(comm))["nonfinite_samples"] == 3


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/ws/echo/abc/", "not ASCII digits"),
        ("/ws/echo//", "not ASCII digits"),
        ("/ws/echo/-16000/", "not ASCII digits"),
        ("/ws/echo/7999/", "out of range"),
        ("/ws/echo/96000/", "out of range"),
        ("/ws/echo/16000/?format=f64", "use one of: f32, s16"),
        ("/ws/echo/16000/?processor=nope", "use one or more of echo, gain,"),
        ("/ws/echo/16000/?gain=2", "allowed keys are format and processor"),
        ("/ws/echo/16000/?format=s16&format=s16", "given twice"),
    ],
)
async def test_bad_parameters_get_bad_request_then_close_4400(path, words):
    communicator = WebsocketCommunicator(application, path)
    connected, _ = await communicator.connect()
    assert connected
    error = await communicator.receive_json_from()
    assert error["type"] == "error"
    assert error["code"] == "bad_request"
    assert words in error["detail"]
    assert "frame" not in error
    assert await expect_close(communicator) == 4400
    await communicator.disconnect()


async def test_bad_frames_get_an_error_with_their_index_and_the_session_goes_on():
    good = np.zeros(FRAME, "<f4").tobytes()
    async with open_session() as (comm, _):
        await comm.send_to(bytes_data=good)  # frame 0
        assert await comm.receive_from() == good
        await comm.send_to(bytes_data=b"\x00" * 6)  # frame 1: a partial sample
        error = await comm.receive_json_from()
        assert error["code"] == "bad_frame"
        assert error["frame"] == 1
        assert "6 bytes" in error["detail"]
        # frame 2: empty (send_to() refuses empty messages, a real client does not)
        await comm.send_input({"type": "websocket.receive", "bytes": b""})
        error = await comm.receive_json_from()
        assert (error["code"], error["frame"]) == ("bad_frame", 2)
        await comm.send_to(bytes_data=good)  # frame 3
        assert await comm.receive_from() == good
        assert await comm.receive_nothing()


async def test_frame_index_counts_binary_messages_only():
    async with open_session("/ws/echo/16000/?format=s16") as (comm, _):
        await send_control(comm, {"type": "ping"})
        await comm.send_to(bytes_data=b"\x01")
        assert (await comm.receive_json_from())["frame"] == 0


@pytest.mark.parametrize(
    "text",
    ["not json", "[1, 2]", "42", "{}", '{"type": "hello"}', '{"type": 7}', ""],
)
async def test_bad_text_gets_bad_message_and_the_session_goes_on(text):
    async with open_session() as (comm, _):
        error = await send_control(comm, text)
        assert error["type"] == "error"
        assert error["code"] == "bad_message"
        assert "frame" not in error
        pong = await send_control(comm, {"type": "ping", "id": 1})
        assert pong["type"] == "pong"


async def test_ping_gets_pong_with_its_id_and_the_server_time():
    async with open_session() as (comm, _):
        pong = await send_control(comm, {"type": "ping", "id": "abc-1"})
        assert pong["type"] == "pong"
        assert pong["id"] == "abc-1"
        assert isinstance(pong["server_time"], float)
        assert abs(pong["server_time"] - time.time()) < 60


async def test_stats_count_exactly_what_was_sent():
    good = sine(16000, 0.064, 440).astype("<f4").tobytes()  # 1024 samples
    async with open_session("/ws/echo/16000/") as (comm, _):
        for _ in range(3):
            await comm.send_to(bytes_data=good)
            await comm.receive_from()
        await comm.send_to(bytes_data=b"\x00" * 5)
        await comm.receive_json_from()
        await send_control(comm, "oops")
        nan_frame = np.array([np.nan, 0.0], "<f4").tobytes()
        await comm.send_to(bytes_data=nan_frame)
        await comm.receive_from()
        report = await stats(comm)
    assert report["type"] == "stats"
    measured = ("proc_", "uptime", "peak_", "rms_")
    assert {k: report[k] for k in report if not k.startswith(measured)} == {
        "type": "stats",
        "frames_in": 4,
        "frames_out": 4,
        "bytes_in": 3 * 4096 + 5 + 8,
        "bytes_out": 3 * 4096 + 8,
        "samples_in": 3 * 1024 + 2,
        "bad_frames": 1,
        "rate_limited_frames": 0,
        "nonfinite_samples": 1,
        "errors": 2,
    }
    assert 0 < report["proc_us_mean"] <= report["proc_us_max"]
    assert 0 < report["proc_us_p99"] <= report["proc_us_max"]
    assert report["uptime_s"] >= 0
    # Levels of the audio received (AES17, to 0.01 dB); the NaN frame added two zeros.
    sent = np.frombuffer(good, "<f4").astype(np.float64)
    rms = np.sqrt(3 * np.sum(sent**2) / (3 * 1024 + 2))
    assert report["peak_dbfs"] == pytest.approx(
        20 * np.log10(np.abs(sent).max()), abs=0.005
    )
    assert report["rms_dbfs"] == pytest.approx(
        20 * np.log10(np.sqrt(2) * rms), abs=0.005
    )


class Shortening(AlwaysFails):
    name = "shortening"

    def process(self, block):
        return block[:-1]


@pytest.mark.parametrize("processor", [AlwaysFails, Shortening])
async def test_a_failing_processor_gets_processing_failed_then_close_4500(
    settings, processor
):
    settings.WSAUDIO_PROCESSORS = [f"{processor.__module__}.{processor.__name__}"]
    path = f"/ws/echo/16000/?processor={processor.name}"
    async with open_session(path) as (comm, _):
        await comm.send_to(bytes_data=np.zeros(8, "<f4").tobytes())
        error = await comm.receive_json_from()
        assert error["code"] == "processing_failed"
        assert error["frame"] == 0
        assert await expect_close(comm) == 4500
        await comm.send_to(bytes_data=np.zeros(8, "<f4").tobytes())
        assert await comm.receive_nothing()
    async with open_session() as (comm, _):  # other sessions are untouched
        await comm.send_to(bytes_data=np.zeros(8, "<f4").tobytes())
        assert len(await comm.receive_from()) == 32


async def test_text_frames_with_control_messages_do_not_disturb_audio_order():
    blocks = [np.full(16, i, "<i2").tobytes() for i in range(5)]
    async with open_session("/ws/echo/16000/?format=s16") as (comm, _):
        for i, block in enumerate(blocks):
            await comm.send_to(bytes_data=block)
            await comm.send_to(text_data=json.dumps({"type": "ping", "id": i}))
        replies = [await comm.receive_from() for _ in range(10)]
    assert replies[0::2] == blocks
    assert [json.loads(r)["id"] for r in replies[1::2]] == list(range(5))


async def test_a_failure_inside_a_chain_names_the_processor_that_failed(settings):
    settings.WSAUDIO_PROCESSORS = [ALWAYS_FAILS]
    path = "/ws/echo/16000/?processor=gain,always_fails,echo"
    async with open_session(path) as (comm, _):
        await comm.send_to(bytes_data=np.zeros(8, "<f4").tobytes())
        error = await comm.receive_json_from()
        assert error["detail"] == "processor 'always_fails' failed: RuntimeError"
        assert await expect_close(comm) == 4500
