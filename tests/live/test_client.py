"""The Python client against a real server: audio comes back sample for sample,
every error code arrives as its own exception, and the commands report true
numbers."""

import asyncio
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import soundfile

import wsaudio_client as client
from wsaudio_client.audio import read_mono
from wsaudio_client.stream_file import echo_file

from ..conftest import frames, sine
from .extra_processors import ALWAYS_FAILS
from .server import ROOT, running_server

pytestmark = pytest.mark.live

RATE = 8000
FRAME = 500  # 62.5 ms at 8000 Hz
STRICT = {
    "WSAUDIO_MAX_FRAME_SECONDS": "0.125",  # 1000 samples at 8000 Hz
    "WSAUDIO_BURST_SECONDS": "0.25",  # 2000 samples
    "WSAUDIO_MAX_REALTIME_FACTOR": "2.0",
    "WSAUDIO_MAX_ERRORS": "3",
    "WSAUDIO_MAX_MESSAGES_PER_SECOND": "40",
    "WSAUDIO_IDLE_TIMEOUT": "1.0",
}
WAIT = 10  # seconds any exchange may take before a test fails


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    """Tight limits, and a processor that always fails beside the real ones."""
    with running_server(
        tmp_path_factory.mktemp("client"),
        WSAUDIO_PROCESSORS=ALWAYS_FAILS,
        **STRICT,
    ) as server:
        yield server


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wsaudio_client", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def next_error(session: client.Session) -> client.ServerError:
    """Receive until an error arrives, and return it."""
    async with asyncio.timeout(WAIT):
        while True:
            try:
                await session.receive()
            except client.ServerError as error:
                return error


# --- audio comes back -----------------------------------------------------------


@pytest.mark.parametrize("format", ["f32", "s16"])
async def test_each_reply_names_its_frame_and_holds_its_samples(echo_server, format):
    audio = sine(16384, 0.5, 440)
    async with client.connect(echo_server.ws_url, format=format) as session:
        assert (session.ready.rate, session.ready.format) == (16384, format)
        for frame in frames(audio, 1024):
            index = await session.send(frame)
            reply = await asyncio.wait_for(session.receive(), WAIT)
            assert reply.frame == index
            assert reply.data == client.encode_frame(frame, format)
        assert session.unanswered == 0


async def test_replies_iterate_in_order_until_the_client_closes(echo_server):
    audio = sine(16384, 0.25, 440)  # four frames
    async with client.connect(echo_server.ws_url) as session:
        for frame in frames(audio, 1024):
            await session.send(frame)
        await session.ping("last")
        received = []
        async for message in session:
            received.append(message)
            if len(received) == 5:
                await session.close()
    assert [reply.frame for reply in received[:4]] == [0, 1, 2, 3]
    assert received[4]["type"] == "pong" and received[4]["id"] == "last"


@pytest.mark.parametrize(("format", "subtype"), [("f32", "FLOAT"), ("s16", "PCM_16")])
async def test_a_wav_file_comes_back_sample_for_sample(
    echo_server, tmp_path, format, subtype
):
    audio = sine(16384, 1.3, 440, 0.8)  # 21290 samples: the last frame is short
    soundfile.write(tmp_path / "in.wav", audio, 16384, subtype=subtype)
    run = await echo_file(
        echo_server.ws_url,
        tmp_path / "in.wav",
        output_path=tmp_path / "out.wav",
        format=format,
        speed=4,
    )
    dtype = "float32" if format == "f32" else "int16"
    sent, _ = soundfile.read(tmp_path / "in.wav", dtype=dtype)
    back, rate = soundfile.read(tmp_path / "out.wav", dtype=dtype)
    assert rate == 16384
    assert np.array_equal(back, sent)
    assert (run.frames_sent, run.frames_received, run.lost, run.mismatched) == (
        21,
        21,
        0,
        0,
    )
    assert run.server_stats["samples_in"] == len(audio)


# --- errors arrive typed ------------------------------------------------------------


async def bad_frame(session):
    await session.send(b"\x00\x00\x00")  # three bytes: not a whole f32 sample


async def one_sample_too_many(session):
    await session.send(np.zeros(1001, np.float32))


async def faster_than_the_burst(session):
    for _ in range(3):  # 1000 samples each; the burst holds 2000
        await session.send(np.zeros(1000, np.float32))


async def unknown_message(session):
    await session.send_control({"type": "no_such_type"})


async def three_unknown_messages(session):
    for _ in range(3):
        await session.send_control({"type": "no_such_type"})
    for _ in range(3):
        assert isinstance(await next_error(session), client.BadMessage)


async def a_ping_flood(session):
    for i in range(80):  # twice what the bucket holds: no stall can refill it
        await session.ping(i)


async def silence(session):
    pass  # the idle timeout is 1 s


async def one_frame(session):
    await session.send(np.zeros(FRAME, np.float32))


@pytest.mark.parametrize(
    ("processor", "offence", "raised", "frame", "close_code"),
    [
        ("echo", bad_frame, client.BadFrame, 0, None),
        ("echo", one_sample_too_many, client.FrameTooLarge, 0, 4413),
        ("echo", faster_than_the_burst, client.RateLimited, 2, None),
        ("echo", unknown_message, client.BadMessage, None, None),
        ("echo", three_unknown_messages, client.TooManyErrors, None, 4429),
        ("echo", a_ping_flood, client.TooManyMessages, None, 4429),
        ("echo", silence, client.IdleTimeout, None, 4408),
        ("always_fails", one_frame, client.ProcessingFailed, 0, 4500),
    ],
)
async def test_each_error_arrives_as_its_exception_with_frame_and_close_code(
    strict_server, processor, offence, raised, frame, close_code
):
    async with client.connect(
        strict_server.ws_url, RATE, processor=processor
    ) as session:
        await offence(session)
        error = await next_error(session)
    assert type(error) is raised
    assert error.code == raised.code
    assert error.detail
    assert error.frame == frame
    assert error.close_code == close_code
    assert error.closes_session == (close_code is not None)


async def test_error_members_arrive_with_the_exception(strict_server):
    async with client.connect(strict_server.ws_url, RATE) as session:
        await faster_than_the_burst(session)
        limited = await next_error(session)
        await one_sample_too_many(session)
        too_large = await next_error(session)
    assert limited.fields == {"dropped": 1}
    assert too_large.fields == {"max_frame_samples": 1000}


async def test_after_an_error_that_leaves_it_open_the_session_goes_on(strict_server):
    async with client.connect(strict_server.ws_url, RATE) as session:
        await bad_frame(session)
        assert (await next_error(session)).frame == 0
        frame = sine(RATE, FRAME / RATE, 440)
        await session.send(frame)
        reply = await asyncio.wait_for(session.receive(), WAIT)
        assert reply.frame == 1
        assert np.array_equal(reply.samples(), frame)
        assert session.unanswered == 0


async def test_bad_parameters_raise_bad_request_from_connect(strict_server):
    with pytest.raises(client.BadRequest) as refused:
        async with client.connect(strict_server.ws_url, 7):
            pass
    assert refused.value.close_code == 4400
    assert "7" in refused.value.detail


async def test_a_full_server_raises_busy_from_connect(start_server):
    server = start_server(WSAUDIO_MAX_SESSIONS="1")
    async with client.connect(server.ws_url, RATE):
        with pytest.raises(client.Busy) as refused:
            async with client.connect(server.ws_url, RATE):
                pass
    assert refused.value.close_code == 4503


async def test_a_refused_origin_is_a_failed_handshake_with_its_status(echo_server):
    with pytest.raises(client.HandshakeFailed) as refused:
        async with client.connect(echo_server.ws_url, origin="https://evil.example"):
            pass
    assert refused.value.status == 403


async def test_a_server_that_is_gone_is_a_failed_handshake(echo_server):
    with pytest.raises(client.HandshakeFailed, match="cannot open"):
        async with client.connect("ws://127.0.0.1:9"):
            pass


# --- the commands -------------------------------------------------------------------


def test_echo_json_reports_what_was_sent_and_writes_it_back(echo_server, tmp_path):
    left, right = sine(44100, 1.0, 440, 0.4), sine(44100, 1.0, 660, 0.2)
    soundfile.write(tmp_path / "in.wav", np.stack([left, right], axis=1), 44100)
    done = run_cli(
        "echo",
        str(tmp_path / "in.wav"),
        "--server",
        echo_server.ws_url,
        "--output",
        str(tmp_path / "out.wav"),
        "--speed",
        "4",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    sent = read_mono(tmp_path / "in.wav", 16384).samples  # 16384 samples
    assert report["input"] == {
        "path": str(tmp_path / "in.wav"),
        "file_rate": 44100,
        "file_channels": 2,
        "seconds": 1.0,
    }
    assert report["frames"] == {
        "sent": 16,
        "received": 16,
        "lost": 0,
        "refused": 0,
        "mismatched": 0,
    }
    assert report["server_stats"]["frames_in"] == 16
    assert report["server_stats"]["samples_in"] == len(sent)
    rtt = report["rtt_ms"]
    assert 0 < rtt["p50"] <= rtt["p95"] <= rtt["p99"] <= rtt["max"]
    back, _ = soundfile.read(tmp_path / "out.wav", dtype="float32")
    assert np.array_equal(back, sent)


def test_echo_says_why_the_server_refused_and_exits_1(echo_server, tmp_path):
    soundfile.write(tmp_path / "in.wav", sine(8000, 0.2, 440), 8000)
    done = run_cli(
        "echo",
        str(tmp_path / "in.wav"),
        "--server",
        echo_server.ws_url,
        "--rate",
        "7",
    )
    assert done.returncode == 1
    assert "BadRequest: bad_request" in done.stderr
    assert "closed with 4400" in done.stderr


def test_echo_faster_than_the_server_allows_is_refused_before_streaming(
    strict_server, tmp_path
):
    soundfile.write(tmp_path / "in.wav", sine(RATE, 0.2, 440), RATE)
    done = run_cli(
        "echo",
        str(tmp_path / "in.wav"),
        "--server",
        strict_server.ws_url,
        "--rate",
        str(RATE),
        "--frame-samples",
        str(FRAME),
        "--speed",
        "3",
    )
    assert done.returncode == 2
    assert "above the server's max_realtime_factor 2" in done.stderr


def test_a_short_load_test_checks_every_frame_and_reads_the_server_process(
    echo_server,
):
    done = run_cli(
        "loadtest",
        "--server",
        echo_server.ws_url,
        "--streams",
        "20",
        "--seconds",
        "3",
        "--slow-readers",
        "2",
        "--server-pid",
        str(echo_server.process.pid),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    frames = report["frames"]
    assert frames["expected"] == frames["sent"] == 20 * 48
    assert frames["mismatched"] == 0
    assert frames["received"] + frames["lost"] == frames["sent"]
    assert report["connect_failures"] == {}
    assert report["slow_readers"]["connected"] == 2
    assert report["slow_readers"]["frames_sent"] == 2 * 48
    server = report["server_process"]
    assert server["pid"] == echo_server.process.pid
    assert server["cpu_s"] > 0 and server["rss_peak_mib"] > 0
    assert isinstance(report["held_real_time"], bool)
    assert math.isfinite(report["generator"]["cpu_percent"])
