"""The Python client against a real server: audio comes back sample for sample,
or through a chain as it should, every error code arrives as its own exception,
configure changes a session as it runs, and the commands report true numbers."""

import asyncio
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

import wsaudio_client as client
from wsaudio_client.audio import read_mono
from wsaudio_client.stream_file import echo_file

from ..chain_cases import CHAIN
from ..conftest import frames, sine
from ..extra_processors import ALWAYS_FAILS
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


def run_echo(server, wav: Path, *args: str) -> subprocess.CompletedProcess:
    """The echo command on ``wav`` against ``server``, with extra arguments."""
    return run_cli("echo", str(wav), "--server", server.ws_url, *args)


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


# --- chains and configure ----------------------------------------------------------


def level_db(samples: np.ndarray) -> float:
    """RMS level in dB (full scale 1.0)."""
    return 10 * math.log10(np.mean(np.square(samples, dtype=np.float64)))


async def test_a_chain_and_its_options_come_back_in_ready(echo_server):
    async with client.connect(
        echo_server.ws_url,
        processor=CHAIN,
        options={"gain.db": -6, "highpass.cutoff_hz": 300},
    ) as session:
        ready = session.ready
    assert ready.processor == CHAIN
    assert [stage.name for stage in ready.chain] == CHAIN.split(",")
    assert ready.chain[0].options["cutoff_hz"] == 300.0
    assert ready.chain[2].options == {"db": -6.0}
    assert not ready.identity


async def test_an_option_the_processor_lacks_raises_bad_request(echo_server):
    with pytest.raises(client.BadRequest) as refused:
        async with client.connect(
            echo_server.ws_url, processor="gain", options={"gain.loud": 1}
        ):
            pass
    assert refused.value.close_code == 4400
    assert "its options: db" in refused.value.detail


async def test_configure_answers_with_every_value_and_the_next_frames_follow_it(
    echo_server,
):
    frame = sine(16384, 1024 / 16384, 512)  # 512 Hz: whole cycles in every frame
    async with client.connect(echo_server.ws_url, processor="gain") as session:
        await session.send(frame)
        before = await asyncio.wait_for(session.receive(), WAIT)
        answer = await asyncio.wait_for(session.configure("gain", db=-12), WAIT)
        for _ in range(2):  # the new level ramps in over the first 20 ms
            await session.send(frame)
            after = await asyncio.wait_for(session.receive(), WAIT)
    assert (answer["type"], answer["processor"]) == ("configured", "gain")
    assert answer["options"] == {"db": -12.0}
    assert np.array_equal(before.samples(), frame)
    assert level_db(after.samples()) - level_db(frame) == pytest.approx(-12, abs=1e-3)


@pytest.mark.parametrize(
    ("processor", "options", "detail"),
    [
        ("gain", {"db": 99}, "gain.db is 99, out of range"),
        ("gain", {"loud": 1}, "gain has no option 'loud'"),
        ("delay", {"mix": 1}, "'delay' is not in this session's chain: gain"),
    ],
)
async def test_a_refused_configure_raises_bad_message_and_the_session_goes_on(
    echo_server, processor, options, detail
):
    frame = sine(16384, 1024 / 16384, 512)
    async with client.connect(
        echo_server.ws_url, processor="gain", options={"gain.db": -6}
    ) as session:
        with pytest.raises(client.BadMessage) as refused:
            await asyncio.wait_for(session.configure(processor, **options), WAIT)
        await session.send(frame)
        reply = await asyncio.wait_for(session.receive(), WAIT)
        answer = await asyncio.wait_for(session.configure("gain", db=0), WAIT)
    assert detail in refused.value.detail
    assert type(refused.value.fields["id"]) is int
    assert not refused.value.closes_session
    assert level_db(reply.samples()) - level_db(frame) == pytest.approx(-6, abs=1e-3)
    assert answer["options"] == {"db": 0.0}
    assert answer["id"] != refused.value.fields["id"]


async def test_what_configure_reads_before_its_answer_comes_back_from_receive_in_order(
    echo_server,
):
    frame = sine(16384, 1024 / 16384, 512)  # one analysis hop per frame
    async with client.connect(echo_server.ws_url, processor="analysis") as session:
        for _ in range(3):
            await session.send(frame)
        answer = await asyncio.wait_for(session.configure("analysis", bands=2), WAIT)
        await session.ping("after")
        received = [await asyncio.wait_for(session.receive(), WAIT) for _ in range(7)]
    assert answer["options"] == {"window": 2048, "hop": 1024, "bands": 2}
    kinds = [m.frame if isinstance(m, client.Reply) else m["type"] for m in received]
    assert kinds == [0, "analysis", 1, "analysis", 2, "analysis", "pong"]
    assert [m["frame"] for m in received[1:6:2]] == [0, 1, 2]
    assert session.unanswered == 0


async def test_configure_gets_its_answer_while_another_task_receives(echo_server):
    frame = sine(16384, 1024 / 16384, 512)
    async with client.connect(echo_server.ws_url, processor="gain") as session:

        async def receive_replies() -> list:
            return [await session.receive() for _ in range(8)]

        receiver = asyncio.create_task(receive_replies())
        answers = []
        for number in range(8):
            await session.send(frame)
            await asyncio.sleep(0.01)  # the receiver is waiting on the socket
            if number in (2, 5):
                change = session.configure("gain", db=-6 * (number // 2))
                answers.append(await asyncio.wait_for(change, WAIT))
        replies = await asyncio.wait_for(receiver, WAIT)
    assert [answer["options"] for answer in answers] == [{"db": -6.0}, {"db": -12.0}]
    assert [reply.frame for reply in replies] == list(range(8))  # no configured
    levels = [level_db(reply.samples()) - level_db(frame) for reply in replies]
    assert [levels[2], levels[4], levels[7]] == pytest.approx([0, -6, -12], abs=1e-3)


async def test_a_configure_that_spends_the_error_budget_ends_the_session(
    strict_server,
):
    async with client.connect(strict_server.ws_url, RATE, processor="gain") as session:
        for _ in range(2):  # the budget holds three
            await unknown_message(session)
            assert isinstance(await next_error(session), client.BadMessage)
        with pytest.raises(client.BadMessage):
            await asyncio.wait_for(session.configure("gain", db=99), WAIT)
        error = await next_error(session)
    assert type(error) is client.TooManyErrors
    assert error.close_code == 4429


# --- the commands -------------------------------------------------------------------


def test_echo_json_reports_what_was_sent_and_writes_it_back(echo_server, tmp_path):
    left, right = sine(44100, 1.0, 440, 0.4), sine(44100, 1.0, 660, 0.2)
    soundfile.write(tmp_path / "in.wav", np.stack([left, right], axis=1), 44100)
    done = run_echo(
        echo_server,
        tmp_path / "in.wav",
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
    done = run_echo(
        echo_server,
        tmp_path / "in.wav",
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


def test_echo_through_a_gain_of_minus_6_db_writes_audio_6_db_lower(
    echo_server, tmp_path
):
    audio = sine(16384, 1.0, 440, 0.5)
    soundfile.write(tmp_path / "in.wav", audio, 16384, subtype="FLOAT")
    done = run_echo(
        echo_server,
        tmp_path / "in.wav",
        "--processor",
        "gain",
        "--option",
        "gain.db=-6",
        "--output",
        str(tmp_path / "out.wav"),
        "--speed",
        "4",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["chain"] == [{"name": "gain", "options": {"db": -6.0}}]
    assert report["frames"]["received"] == 16
    assert report["frames"]["mismatched"] is None  # a gain is no identity
    back, _ = soundfile.read(tmp_path / "out.wav", dtype="float32")
    assert level_db(back) - level_db(audio) == pytest.approx(-6, abs=1e-3)


def test_echo_json_holds_every_analysis_message_and_still_checks_replies(
    echo_server, tmp_path
):
    soundfile.write(tmp_path / "in.wav", sine(16384, 1.0, 440, 0.5), 16384)
    done = run_echo(
        echo_server,
        tmp_path / "in.wav",
        "--processor",
        "analysis",
        "--option",
        "analysis.bands=4",
        "--speed",
        "4",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["frames"]["mismatched"] == 0  # an identity: compared
    assert len(report["chain"][0]["band_edges_hz"]) == 5
    analysis = report["analysis"]
    # One report per 1024-sample hop, the last one after the last frame's reply.
    assert [message["frame"] for message in analysis] == list(range(16))
    last = analysis[-1]
    assert last["processor"] == "analysis"
    assert last["peak_dbfs"] == pytest.approx(-6.02, abs=0.01)  # 0.5 full scale
    assert last["dominant_hz"] == pytest.approx(440, abs=1)
    assert len(last["bands"]) == 4


def test_echo_prints_the_chain_and_a_table_of_analysis(echo_server, tmp_path):
    soundfile.write(tmp_path / "in.wav", sine(16384, 0.25, 440, 0.5), 16384)
    done = run_echo(
        echo_server,
        tmp_path / "in.wav",
        "--processor",
        "gain,analysis",
        "--option",
        "gain.db=-6",
        "--speed",
        "4",
    )
    assert done.returncode == 0, done.stderr
    assert "gain (db=-6.0) →" in done.stdout
    assert "dominant_hz" in done.stdout
    assert done.stdout.count(" analysis │") == 4  # a row per report


def test_echo_says_which_option_the_server_refused_and_exits_1(echo_server, tmp_path):
    soundfile.write(tmp_path / "in.wav", sine(16384, 0.2, 440), 16384)
    done = run_echo(
        echo_server,
        tmp_path / "in.wav",
        "--processor",
        "gain",
        "--option",
        "gain.db=99",
    )
    assert done.returncode == 1
    assert "BadRequest: bad_request: gain.db is 99, out of range" in done.stderr
