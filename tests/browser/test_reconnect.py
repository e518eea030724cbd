"""The page rides through a server restart: the microphone and the audio graph keep
running, a new session takes over, and the user is told, without an error.

Each server (Daphne and Uvicorn) is restarted under a page that streams a steady
440.3 Hz tone at half of full scale: by SIGTERM, as a deployment does (the server
drains: `shutting_down`, then 4502), and after SIGKILL (the connection drops: 1006).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from playwright.sync_api import ConsoleMessage, Page

from ..live.server import SERVERS, LiveServer, running_server
from .pages import ended_record, snapshot, wait_for, wait_until
from .playback import install_playback_tap, played_samples
from .signals import FILE_RATE
from .traffic import Socket, record_websockets

pytestmark = pytest.mark.browser

TONE_AMPLITUDE = 0.5
TONE_HZ = 440.3
TONE_RMS = TONE_AMPLITUDE / np.sqrt(2)
LEAD_SECONDS = 0.75  # silence: the start of the file is lost while capture starts
TONE_SECONDS = 60.0  # longer than any test streams
FRAMES_PER_SECOND = 16384 / 1024  # 16 frames of 62.5 ms at the defaults
RECONNECT_SECONDS = 30  # the page's deadline (BACKOFF.deadlineMs in reconnect.js)

# Takes the server down, calls its second argument while it is down, brings it back.
Restart = Callable[[LiveServer, Callable[[], None]], None]


def sigterm(server: LiveServer, while_down: Callable[[], None]) -> None:
    """As a deployment restarts it: the server drains, exits, and starts again."""
    server.restart(after_exit=while_down)


def sigkill(server: LiveServer, while_down: Callable[[], None]) -> None:
    """The server dies at once, with no word to its sessions, then starts again."""
    server.process.kill()
    server.process.wait()
    while_down()
    server.restart()


@pytest.fixture(scope="module")
def mic_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Silence, then the tone for longer than any test streams."""
    t = np.arange(round(TONE_SECONDS * FILE_RATE)) / FILE_RATE
    tone = TONE_AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t)
    silence = np.zeros(round(LEAD_SECONDS * FILE_RATE))
    path = tmp_path_factory.mktemp("mic") / "tone.wav"
    soundfile.write(path, np.concatenate([silence, tone]), FILE_RATE)
    return path


@pytest.fixture(scope="module", params=SERVERS)
def restarting_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A server of its own, as these tests restart it; records within 0.2 s."""
    workdir = tmp_path_factory.mktemp(f"restarting-{request.param}")
    with running_server(
        workdir, kind=request.param, WSAUDIO_METRICS_FLUSH_SECONDS="0.2"
    ) as server:
        yield server


@pytest.fixture
def page_failures(page: Page) -> list[str]:
    """Console errors and uncaught exceptions, but for the refused WebSockets that
    Chromium reports itself, one for each try made while the server is down."""
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and "WebSocket connection to" not in message.text:
            errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    return errors


def start_streaming(page: Page, server: LiveServer) -> dict[str, Any]:
    """Start, and wait for a second of the tone back."""
    page.goto(server.http_url + "/")
    wait_until(page, "s.state === 'idle'", "state 'idle' after loading", 10)
    page.click("#start")
    return wait_for_replies(page, after=0)


def wait_for_replies(page: Page, after: int, seconds: float = 1) -> dict[str, Any]:
    """Until ``seconds`` of replies have come beyond the first ``after``."""
    frames = after + seconds * FRAMES_PER_SECOND
    condition = f"s.state === 'running' && s.framesReceived >= {frames}"
    wait_until(page, condition, f"{seconds} s of replies", 10 + seconds)
    return snapshot(page)


def page_shows(page: Page) -> dict[str, Any]:
    """The status line, the notice and the alert area as the user sees them, and
    the state they were drawn from."""
    notice = page.locator("#notice")
    return {
        "status": page.locator("#status").text_content(),
        "notice": notice.text_content() if notice.is_visible() else None,
        "alert": page.locator("#message").is_visible(),
        "state": snapshot(page),
    }


def sessions_open(server: LiveServer) -> int:
    with urllib.request.urlopen(f"{server.http_url}/api/info/") as response:
        return json.load(response)["sessions_open"]


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def longest_silence(samples: np.ndarray, rate: float) -> float:
    """The longest run of exact zeros in ``samples``, in seconds."""
    silent = np.concatenate([[False], samples == 0, [False]])
    edges = np.flatnonzero(np.diff(silent.astype(np.int8)))
    runs = edges[1::2] - edges[::2]
    return float(runs.max(initial=0)) / rate


@dataclass
class Ride:
    """What the page went through while its server went away and came back."""

    before: dict[str, Any]  # window.wsaudio while streaming to the first server
    down: dict[str, Any]  # page_shows while the server was down
    back: dict[str, Any]  # page_shows right after a new session took over
    settled: dict[str, Any]  # window.wsaudio after two seconds of replies again
    stopped: dict[str, Any]  # window.wsaudio after Stop
    played: np.ndarray  # every sample the playback node put out, from Start on
    played_since_back: int  # where in ``played`` the new session's audio may begin
    sockets: list[Socket]  # every socket the page opened, the failed tries too

    @property
    def gap(self) -> dict[str, Any]:
        return self.back["state"]["lastGap"]


def ride_through(page: Page, server: LiveServer, restart: Restart) -> Ride:
    """Stream, restart the server under the page, stream on for two seconds, Stop."""
    install_playback_tap(page)
    sockets = record_websockets(page)
    before = start_streaming(page, server)
    seen_while_down: list[dict[str, Any]] = []

    def while_down() -> None:
        wait_for(page, "s.state !== 'running'", "the page noticing", 10)
        seen_while_down.append(page_shows(page))

    began = time.monotonic()
    restart(server, while_down)
    listening = time.monotonic() - began
    wait_until(page, "s.reconnects > 0", "a new session", RECONNECT_SECONDS)
    back = page_shows(page)
    print(
        f"\n{server.kind}: listening again {listening:.1f} s after the restart began,"
        f" a new session {time.monotonic() - began:.1f} s after;"
        f" lastGap {back['state']['lastGap']}"
    )
    played_since_back = len(played_samples(page))
    settled = wait_for_replies(page, after=back["state"]["framesReceived"], seconds=2)
    played = played_samples(page)
    page.click("#stop")
    stopped = wait_for(page, "s.state === 'stopped'", "state 'stopped' after Stop", 10)
    (down,) = seen_while_down
    return Ride(
        before, down, back, settled, stopped, played, played_since_back, sockets
    )


def assert_told_without_an_error(ride: Ride, words: str) -> None:
    """While down, the status line says the page is reconnecting; once back, a
    notice in ``words`` says so; never an alert. One reconnect, a positive gap."""
    down, back = ride.down, ride.back
    assert down["state"]["state"] == "reconnecting", down
    assert down["status"].startswith("reconnecting · the "), down
    assert down["alert"] is False and down["notice"] is None, down
    assert down["state"]["levels"] == {"input": None, "output": None}, down

    gap = ride.gap
    assert back["notice"] == (
        f"{words}; reconnected after {gap['seconds']:.1f} s without audio."
    ), back
    assert back["alert"] is False and back["state"]["lastError"] is None, back
    assert back["state"]["reconnects"] == ride.settled["reconnects"] == 1
    assert back["state"]["session"] != ride.before["session"]
    assert 0 < gap["seconds"] < RECONNECT_SECONDS and gap["tries"] >= 1, gap


def assert_audio_came_back(ride: Ride) -> None:
    """The tone is played again; between, the buffer ran dry: silence, no repeats."""
    rate = ride.before["contextRate"]
    since_back = ride.played[ride.played_since_back :]
    last_second = since_back[-round(rate) :]
    assert len(since_back) >= 1.5 * rate, len(since_back) / rate
    assert rms(last_second) == pytest.approx(TONE_RMS, rel=0.12)
    assert longest_silence(ride.played, rate) >= 0.5 * ride.gap["seconds"]


@pytest.mark.parametrize("restart", [sigterm, sigkill])
def test_a_server_restart_while_streaming_is_ridden_through_with_one_reconnect(
    page: Page,
    page_failures: list[str],
    restarting_server: LiveServer,
    restart: Restart,
):
    ride = ride_through(page, restarting_server, restart)

    if restart is sigterm:  # drained: shutting_down, then 4502
        assert ride.gap["closeCode"] == 4502
        assert_told_without_an_error(ride, "The server restarted")
    else:  # no close frame at all
        assert ride.gap["closeCode"] == 1006
        assert_told_without_an_error(ride, "The connection dropped")
    assert_audio_came_back(ride)
    assert page_failures == []


def test_frames_captured_without_a_session_are_dropped_not_sent_late(
    page: Page, restarting_server: LiveServer
):
    ride = ride_through(page, restarting_server, sigterm)

    gap, stopped = ride.gap, ride.stopped
    assert gap["framesUnsent"] >= 0.8 * FRAMES_PER_SECOND * gap["seconds"] - 1, gap
    assert sum(len(s.binary_sent) for s in ride.sockets) == stopped["framesSent"]
    # By the time the page showed it was back, at most a frame or two had gone out
    # on the new socket: none of those captured in the gap.
    sent_since_back = stopped["framesSent"] - ride.back["state"]["framesSent"]
    sent_before_back = len(ride.sockets[-1].binary_sent) - sent_since_back
    assert 0 <= sent_before_back <= 3, (sent_before_back, gap)
    # The new session was a real one, on the restarted server, and ended with Stop.
    assert ended_record(restarting_server, stopped["session"])["close_code"] == 1000


def test_stop_while_the_page_reconnects_ends_it_without_a_new_session(
    page: Page, page_failures: list[str], restarting_server: LiveServer
):
    start_streaming(page, restarting_server)
    stopped: list[dict[str, Any]] = []

    def stop_while_down() -> None:
        wait_for(page, "s.state === 'reconnecting'", "the page retrying", 10)
        page.click("#stop")
        stopped.append(wait_for(page, "s.state === 'stopped'", "state 'stopped'", 5))

    sigterm(restarting_server, stop_while_down)
    time.sleep(2)  # several tries' worth, had the page kept trying

    state = snapshot(page)
    assert stopped[0]["reconnecting"] is None
    assert state["state"] == "stopped" and state["reconnects"] == 0, state
    assert state["lastError"] is None
    assert not page.locator("#message").is_visible()
    assert not page.locator("#notice").is_visible()
    assert page.locator("#start").is_enabled()
    assert sessions_open(restarting_server) == 0
    assert page_failures == []
