"""``echo`` and ``loadtest`` with ``--reconnect`` carry on through a server that
goes: every answered frame's audio stays at its place, the frames lost in the gap
stay silent and are the ones reported, and the load tester still checks every
reply byte for byte: against a scripted server."""

import json
import re

import numpy as np
import pytest
import soundfile

import wsaudio_client as client
from wsaudio_client.loadtest import LoadTest, run_loadtest
from wsaudio_client.stream_file import echo_file

from .scripted_server import RefuseHandshake, ScriptedEchoServer, Serve, shutting_down
from .test_loadtest_counts import run_cli

RATE = 8000
FRAME = 500  # 62.5 ms at 8000 Hz
FRAMES = 32  # 2 s of audio
QUICK = client.Reconnect(first_delay=0.01, max_delay=0.05, deadline=5)


def restarting_server() -> ScriptedEchoServer:
    """Answers 8 frames, takes 2 more with no reply, says it is shutting down
    and is gone for 0.2 s: some frames sent meanwhile go into the void."""
    return ScriptedEchoServer(Serve(answer=8, swallow=2, end=shutting_down, down=0.2))


@pytest.fixture
def wav(tmp_path):
    """Noise: every frame unlike every other, so a reply put at the wrong frame
    shows."""
    noise = np.random.default_rng(26).uniform(-0.5, 0.5, FRAMES * FRAME)
    path = tmp_path / "in.wav"
    soundfile.write(path, noise.astype(np.float32), RATE, "FLOAT")
    return path


def frames_of(path) -> np.ndarray:
    samples, _ = soundfile.read(path, dtype="float32")
    return samples.reshape(-1, FRAME)


def lost_frames(gaps: list[dict]) -> list[int]:
    return [n for gap in gaps for a, b in gap["lost_frames"] for n in range(a, b + 1)]


async def test_echo_writes_every_answered_frame_at_its_place_and_silence_for_the_gap(
    wav, tmp_path
):
    async with restarting_server() as server:
        run = await echo_file(
            server.url,
            wav,
            output_path=tmp_path / "out.wav",
            rate=RATE,
            frame_samples=FRAME,
            speed=4,
            reconnect=QUICK,
        )
    (gap,) = run.gaps
    assert gap.cause == "shutting_down"
    assert gap.lost[:2] == (8, 9) and gap.unanswered == 2
    assert gap.into_the_void >= 1  # 0.2 s down: about 12 frames at 4x
    assert gap.lost == tuple(range(8, 8 + gap.frames_lost))
    sent, back = frames_of(wav), frames_of(tmp_path / "out.wav")
    for number in range(FRAMES):
        expected = 0 if number in gap.lost else sent[number]
        assert np.array_equal(back[number], np.broadcast_to(expected, FRAME)), number
    assert (run.frames_sent, run.frames_received, run.mismatched) == (
        FRAMES,
        FRAMES - gap.frames_lost,
        0,
    )
    assert run.lost == run.lost_in_gaps == gap.frames_lost
    assert run.server_stats == {"frames_in": FRAMES - gap.resumed_at}


async def test_echo_json_reports_each_gap_and_the_tables_show_them(wav, tmp_path):
    args = [
        "echo",
        str(wav),
        "--server",
        "",
        "--rate",
        str(RATE),
        "--frame-samples",
        str(FRAME),
        "--speed",
        "4",
        "--reconnect-deadline",
        "5",
    ]
    async with restarting_server() as server:
        args[3] = server.url
        code, out, err = await run_cli(*args, "-o", str(tmp_path / "out.wav"), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["reconnect"] == {
        "first_delay": 0.1,
        "max_delay": 2.0,
        "jitter": 0.5,
        "deadline": 5.0,
    }
    assert report["reconnects"] == 1
    (gap,) = report["gaps"]
    assert gap["cause"] == "shutting_down" and gap["unanswered"] == 2
    assert gap["frames_lost"] == report["frames"]["lost"] == len(lost_frames([gap]))
    assert 0.2 <= gap["seconds"] < 3
    back = frames_of(tmp_path / "out.wav")
    silent = [n for n in range(FRAMES) if not back[n].any()]
    assert silent == lost_frames(report["gaps"])

    async with restarting_server() as server:
        args[3] = server.url
        code, out, err = await run_cli(*args)
    assert code == 0, err
    assert re.search(r"reconnects\s*│\s*1\s*│", out)
    assert re.search(r"│ shutting_down\s*│\s*\d+\s*│\s*2\s*│", out)


async def test_echo_without_reconnect_ends_at_shutting_down_and_exits_1(wav):
    async with restarting_server() as server:
        code, out, err = await run_cli(
            "echo", str(wav), "--server", server.url, "--rate", str(RATE)
        )
    assert code == 1
    assert "ShuttingDown: shutting_down" in err and "closed with 4502" in err


def gone_for_good() -> ScriptedEchoServer:
    """Answers 4 frames, says it is shutting down, then refuses every handshake."""
    return ScriptedEchoServer(
        Serve(answer=4, end=shutting_down), *[RefuseHandshake(503)] * 1000
    )


async def test_echo_that_gives_up_reconnecting_says_so_and_exits_1(wav):
    async with gone_for_good() as server:
        code, out, err = await run_cli(
            "echo",
            str(wav),
            "--server",
            server.url,
            "--rate",
            str(RATE),
            "--frame-samples",
            str(FRAME),
            "--reconnect-deadline",
            "0.5",
        )
    assert code == 1
    assert "HandshakeFailed" in err and "HTTP 503" in err
    assert re.search(r"gave up reconnecting after \d+ attempts in 0\.\d s", err)


async def test_a_load_test_stream_that_gives_up_is_counted_as_closed_early():
    async with gone_for_good() as server:
        results = await run_loadtest(
            LoadTest(
                server=server.url,
                streams=1,
                seconds=1.0,
                reconnect=client.Reconnect(first_delay=0.05, deadline=0.3),
            )
        )
    summary = results.summary()
    assert summary["closed_early"] == {"http_503": 1}
    assert summary["reconnects"] == 0
    assert summary["frames"]["received"] == 4
    # Into the void for the 0.3 s of the gap, then the stream stops: 62.5 ms frames.
    assert 4 + 3 <= summary["frames"]["sent"] <= 4 + 8


async def test_each_load_test_stream_reconnects_and_its_replies_still_match():
    streams = 3
    steps = [Serve(answer=4, swallow=1, end=shutting_down, down=0.1)] * streams
    async with ScriptedEchoServer(*steps) as server:
        results = await run_loadtest(
            LoadTest(
                server=server.url,
                streams=streams,
                seconds=1.0,  # 16 frames a stream
                seed=1,
                reconnect=QUICK,
            )
        )
    summary = results.summary()
    frames, gaps = summary["frames"], summary["gaps"]
    assert summary["reconnects"] == streams
    assert gaps["causes"] == {"shutting_down": streams}
    assert frames["mismatched"] == 0
    assert frames["sent"] == streams * 16
    assert gaps["frames_lost"] == frames["lost"] >= streams  # one unanswered each
    assert 0.1 <= gaps["longest_s"] < 3
    assert len(results.streams.rtt_seconds) == frames["received"]
    assert summary["connect_failures"] == {} and summary["closed_early"] == {}


async def test_the_load_test_command_reports_reconnects_and_the_longest_gap():
    async with ScriptedEchoServer(Serve(answer=4, end=shutting_down)) as server:
        code, out, err = await run_cli(
            "loadtest",
            "--server",
            server.url,
            "--streams",
            "1",
            "--seconds",
            "1",
            "--reconnect",
        )
    assert code == 0, err
    assert re.search(r"reconnects\s*│\s*1\s*│", out)
    assert re.search(r"reconnect causes\s*│\s*shutting_down: 1\s*│", out)
    assert re.search(r"longest gap \(s\)\s*│\s*[\d.]+\s*│", out)
