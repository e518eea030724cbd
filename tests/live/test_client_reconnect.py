"""The Python client follows a real server through a restart: with ``reconnect``,
a stream goes on across the SIGTERM, the server's exit and its start on the same
port; every frame sent before the signal and after the reconnect comes back byte
for byte, and the frames reported lost are exactly the ones with no reply. Run
under Daphne and, with WSAUDIO_LIVE_SERVER=uvicorn, under Uvicorn."""

import asyncio
import json
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
import soundfile

import wsaudio_client as client
from wsaudio_client.measure import now, sleep_until

from ..conftest import frames
from .server import ROOT

pytestmark = pytest.mark.live

RATE = 16384
FRAME = 1024  # 62.5 ms at 16384 Hz
PERIOD = FRAME / RATE
SECONDS = 10.0  # 160 frames: a second before the restart, the rest after it
RESTART_AT = 16  # the frame before which the restart begins
# A restart takes the drain, the process's exit and a new server's start: a few
# seconds; the deadline leaves room on a loaded machine.
POLICY = client.Reconnect(deadline=30)
WAIT = 60  # seconds the stream may take to be answered after its last frame


def noise(seconds: float, seed: int = 26) -> np.ndarray:
    """Every frame unlike every other, so a reply put at the wrong frame shows."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.5, 0.5, int(RATE * seconds)).astype(np.float32)


async def stream_through_restart(server, audio: np.ndarray):
    """Send ``audio`` at real time, restarting ``server`` before frame RESTART_AT;
    return the replies by frame, the gaps, and the frames sent before the signal."""
    blocks = frames(audio, FRAME)
    replies: dict[int, bytes] = {}
    gaps: list[client.Gap] = []
    async with client.connect(server.ws_url, RATE, reconnect=POLICY) as session:

        async def take_replies() -> None:
            lost = 0
            while len(replies) + lost < len(blocks):
                message = await session.receive()
                if isinstance(message, client.Reply):
                    replies[message.frame] = message.data
                elif isinstance(message, client.Gap):
                    gaps.append(message)
                    lost += message.frames_lost

        receiver = asyncio.create_task(take_replies())
        start = now()
        for number, block in enumerate(blocks):
            await sleep_until(start + number * PERIOD)
            if number == RESTART_AT:
                sent_before_signal = session.frames_sent
                restart = asyncio.create_task(asyncio.to_thread(server.restart))
            await session.send(block)
        await asyncio.wait_for(receiver, WAIT)
        await restart
    assert session.gaps == gaps
    return blocks, replies, gaps, sent_before_signal


async def test_a_stream_goes_on_through_a_restart_and_reports_what_it_lost(
    start_server,
):
    server = start_server()
    blocks, replies, gaps, sent_before_signal = await stream_through_restart(
        server, noise(SECONDS)
    )
    (gap,) = gaps
    print(
        f"\n{server.kind} restart: a gap of {gap.seconds:.2f} s, "
        f"{gap.frames_lost} frames lost ({gap.unanswered} unanswered), "
        f"{gap.attempts} attempts, refused {gap.refusals}"
    )
    no_reply = sorted(set(range(len(blocks))) - set(replies))
    assert list(gap.lost) == no_reply
    assert set(range(sent_before_signal)) <= set(replies)  # all sent before it
    assert set(range(gap.resumed_at, len(blocks))) <= set(replies)  # all after
    for number, data in replies.items():
        assert data == client.encode_frame(blocks[number], "f32"), number
    # The server answered what it owed before it went: only frames sent after
    # the signal are lost, the one or two that reached it as it drained
    # (unanswered) and those sent with no session (into the void).
    assert gap.cause == "shutting_down"
    assert gap.lost[0] >= sent_before_signal
    assert gap.unanswered <= 2
    assert 0 < gap.frames_lost <= gap.seconds / PERIOD + 2
    assert 0 < gap.seconds < POLICY.deadline
    assert gap.attempts >= 1
    assert server.restarts == 1


def wait_for_a_session(server) -> None:
    """Until ``server`` holds a session (``sessions_open`` in /api/info/)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{server.http_url}/api/info/") as answer:
            if json.load(answer)["sessions_open"]:
                return
        time.sleep(0.05)
    raise AssertionError(f"no session opened on {server.http_url} in {WAIT} s")


def test_the_echo_command_with_reconnect_keeps_every_answered_frame_in_place(
    start_server, tmp_path
):
    server = start_server()
    audio = noise(SECONDS)
    soundfile.write(tmp_path / "in.wav", audio, RATE, subtype="FLOAT")
    command = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wsaudio_client",
            "echo",
            str(tmp_path / "in.wav"),
            "-o",
            str(tmp_path / "out.wav"),
            "--server",
            server.ws_url,
            "--reconnect",
            "--json",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_a_session(server)
    time.sleep(0.5)  # the stream is under way: 8 frames answered
    server.restart()
    out, err = command.communicate(timeout=SECONDS + WAIT)
    assert command.returncode == 0, err
    report = json.loads(out)
    (gap,) = report["gaps"]
    print(
        f"\n{server.kind} restart under echo --reconnect: a gap of "
        f"{gap['seconds']:.2f} s, {gap['frames_lost']} frames lost"
    )
    lost = [n for first, last in gap["lost_frames"] for n in range(first, last + 1)]
    assert report["reconnects"] == 1
    assert gap["frames_lost"] == len(lost) == report["frames"]["lost"]
    assert report["frames"]["mismatched"] == 0
    back, _ = soundfile.read(tmp_path / "out.wav", dtype="float32")
    assert len(back) == len(audio)
    sent, returned = frames(audio, FRAME), frames(back, FRAME)
    silent = [n for n, block in enumerate(returned) if not block.any()]
    assert silent == lost
    for number, block in enumerate(returned):
        if number not in lost:
            assert np.array_equal(block, sent[number]), number
    # The last session's stats: the frames after the reconnect.
    assert report["server_stats"]["frames_in"] == len(sent) - gap["resumed_at"]
