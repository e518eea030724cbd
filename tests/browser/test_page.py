"""The page people use, in Chromium: live figures, messages in words, any screen.

The fake microphone plays a steady 440.3 Hz tone at half of full scale, so the page's
level meters and throughput have known right answers.
"""

from __future__ import annotations

import json
import math
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from playwright.sync_api import Browser, Page, WebSocketRoute
from websockets.sync.client import connect

from ..live.server import LiveServer, running_server
from .artifacts import keep_screenshot
from .conftest import INSECURE_HOST
from .pages import ended_record, snapshot, wait_for, wait_until
from .signals import FILE_RATE
from .traffic import record_websockets

pytestmark = pytest.mark.browser

TONE_AMPLITUDE = 0.5
# Not a whole number of Hz: a frame a whole number of seconds later holds the tone at
# another phase, so the waveform drawn from it is not the same picture.
TONE_HZ = 440.3
TONE_DBFS = 20 * math.log10(TONE_AMPLITUDE)  # -6.02: peak and RMS alike (AES17)
LEVEL_TOLERANCE_DB = 0.5
LEAD_SECONDS = 0.75  # silence: the start of the file is lost while capture starts
TONE_SECONDS = 30.0
PAYLOAD_KBPS = 16384 * 32 / 1000  # f32 at 16384 Hz: 524.3 kbit/s each way
KBPS_TOLERANCE = 0.15
FRAME_MS = 1024 / 16384 * 1000  # 62.5 ms: the capture framing of the defaults
# Counters move between redraws (every 100 ms): a frame every 62.5 ms, and a busy
# machine may delay a redraw.
FRAMES_BETWEEN_REDRAWS = 6
IDLE_TIMEOUT = 2  # seconds, for the refusing server
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 1000}

# Every figure the page shows, read in one go with the state it was drawn from.
READ_PAGE = """() => {
  const text = (id) => document.getElementById(id).textContent;
  const ids = [...document.querySelectorAll("[id^=stat-], [id^=latency-], output")]
    .map((element) => element.id).filter((id) => id && id !== "latency-bar");
  return {
    shown: Object.fromEntries(ids.map((id) => [id, text(id)])),
    meters: {
      input: document.getElementById("level-input").value,
      output: document.getElementById("level-output").value,
    },
    waveform: document.getElementById("waveform").toDataURL(),
    status: structuredClone(window.wsaudio),
  };
}"""


@pytest.fixture(scope="module")
def mic_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Silence, then the tone for longer than any test streams, then silence."""
    t = np.arange(round(TONE_SECONDS * FILE_RATE)) / FILE_RATE
    tone = TONE_AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t)
    silence = np.zeros(round(LEAD_SECONDS * FILE_RATE))
    path = tmp_path_factory.mktemp("mic") / "tone.wav"
    soundfile.write(path, np.concatenate([silence, tone, silence]), FILE_RATE)
    return path


@pytest.fixture(scope="module")
def page_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Default limits; records written within 0.2 s; also serves INSECURE_HOST."""
    workdir = tmp_path_factory.mktemp("page-server")
    with running_server(
        workdir,
        WSAUDIO_METRICS_FLUSH_SECONDS="0.2",
        DJANGO_ALLOWED_HOSTS=f"127.0.0.1,localhost,{INSECURE_HOST}",
    ) as server:
        yield server


@pytest.fixture(scope="module")
def refusing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One session at a time, idle sessions end after IDLE_TIMEOUT seconds, and
    pages served as localhost may not open sessions (only 127.0.0.1 may)."""
    with running_server(
        tmp_path_factory.mktemp("refusing-server"),
        WSAUDIO_MAX_SESSIONS="1",
        WSAUDIO_IDLE_TIMEOUT=str(IDLE_TIMEOUT),
        WSAUDIO_ALLOWED_ORIGINS="127.0.0.1",
    ) as server:
        yield server


def read_page(page: Page) -> dict[str, Any]:
    return page.evaluate(READ_PAGE)


def number(text: str) -> float:
    """The first number in ``text``, as the page wrote it."""
    return float(text.split()[0])


def shown_percentiles(text: str) -> tuple[float, float]:
    """(p50, p95) from '12.3 ms (p95 45.6)'."""
    p50, _, _, p95 = text.replace("(", "").replace(")", "").split()
    return float(p50), float(p95)


def assert_shows(reading: dict[str, Any]) -> None:
    """Every derived figure on the page is the one in ``window.wsaudio``."""
    shown, status = reading["shown"], reading["status"]
    near = 0.05 + 1e-9  # the page shows one decimal

    def check(element: str, value: float | None) -> None:
        assert value is not None, f"{element}: no value in window.wsaudio: {status}"
        assert abs(number(shown[element]) - value) <= near, (
            f"{element} shows {shown[element]!r}, window.wsaudio has {value}"
        )

    for element, rtt in [("stat-rtt-frame", "rttMs"), ("stat-rtt-ping", "pingRttMs")]:
        p50, p95 = shown_percentiles(shown[element])
        assert abs(p50 - status[rtt]["p50"]) <= near, (shown[element], status[rtt])
        assert abs(p95 - status[rtt]["p95"]) <= near, (shown[element], status[rtt])
    check("stat-kbps-sent", status["kbps"]["sent"])
    check("stat-kbps-received", status["kbps"]["received"])
    check("stat-buffer", status["bufferedMs"])
    assert int(shown["stat-underruns"]) == status["underruns"]
    for part in ["capture", "network", "jitter", "output", "total"]:
        check(f"latency-{part}", status["latencyMs"][f"{part}Ms"])
    for side in ["input", "output"]:
        level = status["levels"][side]
        text = shown[f"level-{side}-text"]
        assert text == (
            f"peak {level['peakDbfs']:.1f} · rms {level['rmsDbfs']:.1f} dBFS"
        ), f"{side} level shows {text!r}, window.wsaudio has {level}"
        assert reading["meters"][side] == pytest.approx(level["peakDbfs"])


def start_streaming(page: Page, url: str) -> None:
    page.goto(url)
    wait_until(page, "s.state === 'idle'", "state 'idle' after loading", 10)
    page.click("#start")
    wait_until(page, "s.state === 'running'", "state 'running' after Start", 10)


def stop_streaming(page: Page) -> dict[str, Any]:
    page.click("#stop")
    wait_until(page, "s.state === 'stopped'", "state 'stopped' after Stop", 10)
    return snapshot(page)


def test_stats_meters_and_waveform_move_while_audio_flows_and_match_window_wsaudio(
    page: Page, console_errors: list[str], page_server: LiveServer
):
    start_streaming(page, page_server.http_url + "/")
    wait_until(
        page,
        "s.levels.input?.peakDbfs > -20 && s.levels.output?.peakDbfs > -20"
        " && s.kbps.received !== null && s.pingRttMs.p50 !== null",
        "the tone back, a second of traffic and a pong",
        15,
    )
    first = read_page(page)
    page.wait_for_timeout(1000)
    second = read_page(page)

    for reading in (first, second):
        assert_shows(reading)
        status, shown = reading["status"], reading["shown"]
        for counter, element in [
            ("framesSent", "stat-frames-sent"),
            ("framesReceived", "stat-frames-received"),
        ]:
            behind = status[counter] - int(shown[element])
            assert 0 <= behind <= FRAMES_BETWEEN_REDRAWS, (counter, status, shown)
        # The figures are the right ones for a steady tone at 16384 Hz f32.
        for side in ["input", "output"]:
            level = status["levels"][side]
            assert level["peakDbfs"] == pytest.approx(TONE_DBFS, abs=LEVEL_TOLERANCE_DB)
            assert level["rmsDbfs"] == pytest.approx(TONE_DBFS, abs=LEVEL_TOLERANCE_DB)
        for way in ["sent", "received"]:
            kbps = status["kbps"][way]
            assert kbps == pytest.approx(PAYLOAD_KBPS, rel=KBPS_TOLERANCE), status
        latency = status["latencyMs"]
        assert latency["captureMs"] == FRAME_MS
        assert latency["networkMs"] == status["rttMs"]["p50"] > 0
        assert latency["jitterMs"] == status["bufferedMs"] > 0
        parts = ["captureMs", "networkMs", "jitterMs", "outputMs"]
        assert latency["totalMs"] == pytest.approx(sum(latency[p] for p in parts))
        assert 0 < status["pingRttMs"]["p50"] <= status["pingRttMs"]["p95"]

    # It moves: a second later there is more traffic, and another waveform.
    for counter in ["framesSent", "framesReceived"]:
        assert second["status"][counter] > first["status"][counter] + 10
    assert int(second["shown"]["stat-frames-sent"]) > int(
        first["shown"]["stat-frames-sent"]
    )
    assert second["waveform"] != first["waveform"]

    state = stop_streaming(page)
    final = read_page(page)
    assert final["shown"]["stat-frames-sent"] == str(state["framesSent"])
    assert final["shown"]["stat-frames-received"] == str(state["framesReceived"])
    assert state["framesReceived"] == state["framesSent"]
    assert console_errors == []


def test_the_session_record_holds_the_client_stats_the_page_sent(
    page: Page, console_errors: list[str], page_server: LiveServer
):
    sockets = record_websockets(page)
    start_streaming(page, page_server.http_url + "/")
    # A periodic report goes out every 2 s, and a last one as Stop ends the session.
    wait_until(page, "s.clientStatsSent >= 2", "two client_stats sent", 10)
    state = stop_streaming(page)

    record = ended_record(page_server, state["session"])
    (socket,) = sockets
    reports = [
        json.loads(message)
        for message in socket.sent
        if isinstance(message, str) and '"client_stats"' in message
    ]
    assert len(reports) == state["clientStatsSent"] >= 3, reports
    *running, last = reports
    # The last report, after Stop played the buffer out, leaves the buffer's level
    # out: the record keeps the level the session ran with.
    assert set(last) == {"type", "rtt_ms_p50", "rtt_ms_p95", "underruns", "overruns"}
    assert running[-1]["buffered_ms"] > 0
    assert last["rtt_ms_p50"] == state["rttMs"]["p50"]
    assert last["rtt_ms_p95"] == state["rttMs"]["p95"]
    assert last["underruns"] == state["underruns"]
    assert last["overruns"] == state["overruns"]
    assert record["client_rtt_ms_p50"] == last["rtt_ms_p50"]
    assert record["client_rtt_ms_p95"] == last["rtt_ms_p95"]
    assert record["client_buffered_ms"] == running[-1]["buffered_ms"]
    assert record["client_underruns"] == last["underruns"]
    assert record["client_overruns"] == last["overruns"]
    assert record["close_code"] == 1000
    assert console_errors == []


def sessions_open(server: LiveServer) -> int:
    with urllib.request.urlopen(f"{server.http_url}/api/info/") as response:
        return json.load(response)["sessions_open"]


def wait_for_no_sessions(server: LiveServer, seconds: float = 5) -> None:
    """Until the server has let go of the sessions of earlier tests."""
    deadline = time.monotonic() + seconds
    while sessions_open(server):
        assert time.monotonic() < deadline, "the server still holds a session"
        time.sleep(0.05)


def drop_what_the_page_sends(route: WebSocketRoute) -> None:
    """A network that stalls one way: the server's messages reach the page, not back."""
    route.connect_to_server()
    route.on_message(lambda message: None)


REFUSALS: dict[str, tuple[str, str, int, str]] = {
    # scenario: (address, title shown, close code, words the detail holds)
    "bad rate": ("/?rate=100", "The server refused these settings", 4400, "8000"),
    "server full": ("/", "The server is full", 4503, "sessions"),
    "idle timeout": ("/", "The session timed out", 4408, "seconds"),
}


@pytest.mark.parametrize("scenario", REFUSALS)
def test_a_refused_or_ended_session_says_why_in_words(
    page: Page, refusing_server: LiveServer, scenario: str
):
    address, title, close_code, detail_words = REFUSALS[scenario]
    wait_for_no_sessions(refusing_server)
    if scenario == "idle timeout":
        page.route_web_socket("**/ws/echo/**", drop_what_the_page_sends)
    with ExitStack() as held:
        if scenario == "server full":
            holder = held.enter_context(
                connect(f"{refusing_server.ws_url}/ws/echo/16384/")
            )
            holder.recv(timeout=5)  # ready: the only place is taken
        page.goto(refusing_server.http_url + address)
        wait_until(page, "s.state === 'idle'", "state 'idle' after loading", 10)
        page.click("#start")
        state = wait_for(
            page, "s.state === 'error'", "the session refused", IDLE_TIMEOUT + 10
        )

    assert state["closeCode"] == close_code, state
    message = page.locator("#message")
    assert message.is_visible()
    assert message.get_attribute("role") == "alert"
    assert page.locator("#message-title").text_content() == title
    detail = page.locator("#message-detail").text_content()
    assert detail == state["lastError"]["detail"]
    assert detail_words in detail
    assert page.locator("#start").is_enabled(), "Start again must be possible"


def refused_late(route: WebSocketRoute) -> None:
    """The socket's refusal comes after the page's worklet modules failed to load."""
    time.sleep(0.5)
    route.connect_to_server()


@pytest.mark.parametrize("refusal", ["at once", "after the worklets failed"])
def test_an_unreachable_server_says_so(
    page: Page, tmp_path: Path, console_errors: list[str], refusal: str
):
    with running_server(tmp_path / "gone") as server:
        page.goto(server.http_url + "/")
        wait_until(page, "s.state === 'idle'", "state 'idle' after loading", 10)
    if refusal == "after the worklets failed":
        page.route_web_socket("**/ws/echo/**", refused_late)
    page.click("#start")
    state = wait_for(page, "s.state === 'error'", "the failed connection", 10)

    assert state["lastError"]["code"] == "server_unreachable", state
    assert page.locator("#message-title").text_content() == (
        "The server cannot be reached"
    )
    # Chromium reports the refused connections itself; nothing else may go wrong.
    assert console_errors, "Chromium reported no refused connection"
    for error in console_errors:
        assert "WebSocket connection to" in error or "ERR_CONNECTION_REFUSED" in error


def test_a_handshake_the_server_refuses_is_told_apart_from_an_unreachable_server(
    page: Page, refusing_server: LiveServer
):
    # The page's origin is localhost; the server takes sessions from 127.0.0.1 only.
    port = refusing_server.http_url.rsplit(":", 1)[1]
    page.goto(f"http://localhost:{port}/")
    wait_until(page, "s.state === 'idle'", "state 'idle' after loading", 10)
    page.click("#start")
    wait_for(page, "s.lastError?.code === 'handshake_refused'", "the diagnosis", 10)

    assert page.locator("#message-title").text_content() == (
        "The server refused the connection"
    )
    assert "WSAUDIO_ALLOWED_ORIGINS" in page.locator("#message-advice").text_content()
    assert snapshot(page)["state"] == "error"


def test_a_page_that_is_not_a_secure_context_explains_https_and_localhost(
    page: Page, page_server: LiveServer
):
    port = page_server.http_url.rsplit(":", 1)[1]
    page.goto(f"http://{INSECURE_HOST}:{port}/")
    state = wait_for(page, "s.state === 'error'", "the page's refusal", 10)

    assert state["lastError"]["code"] == "insecure_context"
    assert page.locator("#message-title").text_content() == (
        "The microphone needs a secure page"
    )
    advice = page.locator("#message-advice").text_content()
    assert "https://" in advice and "localhost" in advice
    assert page.locator("#start").is_disabled()


def test_keyboard_alone_reaches_every_setting_and_starts_and_stops(
    page: Page, page_server: LiveServer
):
    page.goto(page_server.http_url + "/")
    wait_until(page, "s.state === 'idle'", "state 'idle' after loading", 10)
    labelled = {}
    for _ in range(30):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const e = document.activeElement;
                       return [e.id, e.labels?.[0]?.textContent.trim() ?? null]; }"""
        )
        labelled[focused[0]] = focused[1]
    settings = ["rate", "frame", "format", "processor", "depth", "ec", "ns", "agc"]
    for field in settings:
        assert labelled.get(field), f"#{field} is not reached by Tab, or has no label"

    page.focus("#start")
    page.keyboard.press("Enter")
    wait_until(page, "s.state === 'running'", "state 'running' after Enter", 10)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "stop"
    page.keyboard.press("Enter")
    wait_until(page, "s.state === 'stopped'", "state 'stopped' after Enter", 10)


@pytest.mark.parametrize(
    "name, viewport", [("page-phone.png", PHONE), ("page-desktop.png", DESKTOP)]
)
def test_the_page_fits_the_screen_while_streaming(
    browser: Browser, page_server: LiveServer, name: str, viewport: dict[str, int]
):
    context = browser.new_context(viewport=viewport)
    try:
        page = context.new_page()
        start_streaming(page, page_server.http_url + "/")
        wait_until(
            page,
            "s.levels.input?.peakDbfs > -20 && s.latencyMs.totalMs !== null"
            " && s.pingRttMs.p50 !== null && s.kbps.received !== null",
            "every figure filled in",
            15,
        )
        overflow = page.evaluate(
            """() => ({
                scrollWidth: document.documentElement.scrollWidth,
                innerWidth: window.innerWidth,
                wider: [...document.querySelectorAll("body *")]
                  .filter((e) => e.getBoundingClientRect().right > window.innerWidth)
                  .map((e) => e.id || e.tagName),
            })"""
        )
        png = page.screenshot(full_page=True)
        path = keep_screenshot(png, name, in_docs=True)
        stop_streaming(page)
    finally:
        context.close()
    assert overflow["scrollWidth"] <= overflow["innerWidth"], (overflow, path)
    assert overflow["wider"] == [], (overflow, path)


def test_each_start_uses_the_settings_chosen_and_the_address_keeps_them(
    page: Page, page_server: LiveServer
):
    sockets = record_websockets(page)
    page.goto(page_server.http_url + "/")
    wait_until(page, "s.state === 'idle'", "state 'idle' after loading", 10)
    with urllib.request.urlopen(f"{page_server.http_url}/api/info/") as response:
        offered = [p["name"] for p in json.load(response)["processors"]]
    choices = page.locator("#processor option")
    page.wait_for_function(
        "document.querySelector('#processor option').text.includes(':')"
    )
    assert choices.evaluate_all("options => options.map((o) => o.value)") == offered
    page.fill("#rate", "16000")
    page.select_option("#format", "s16")
    page.fill("#depth", "1.5")
    page.check("#ec")
    page.click("#start")
    wait_until(page, "s.framesReceived > 2", "frames back", 10)
    state = stop_streaming(page)

    assert (state["targetRate"], state["format"], state["depthFrames"]) == (
        16000,
        "s16",
        1.5,
    )
    assert sockets[0].url.endswith("/ws/echo/16000/?format=s16&processor=echo")
    assert len(sockets[0].binary_sent[0]) == 1024 * 2
    assert page.url.endswith(
        "?rate=16000&frame=1024&format=s16&processor=echo&depth=1.5&ec=1"
    )


def without_client_stats(route: WebSocketRoute) -> None:
    """A server of an earlier version: its `ready` does not list client_stats."""
    server = route.connect_to_server()

    def to_page(message: str | bytes) -> None:
        if isinstance(message, str) and '"ready"' in message:
            ready = json.loads(message)
            ready["accepts"].remove("client_stats")
            message = json.dumps(ready)
        route.send(message)

    server.on_message(to_page)


def test_no_client_stats_go_to_a_server_whose_ready_does_not_accept_them(
    page: Page, page_server: LiveServer
):
    page.route_web_socket("**/ws/echo/**", without_client_stats)
    sockets = record_websockets(page)
    start_streaming(page, page_server.http_url + "/")
    # Long enough for two periodic reports, then the one Stop would send.
    wait_until(page, "s.pingRttMs.p50 !== null", "a pong", 10)
    page.wait_for_timeout(2500)
    state = stop_streaming(page)

    texts = [json.loads(m) for m in sockets[0].sent if isinstance(m, str)]
    assert [m for m in texts if m["type"] == "client_stats"] == []
    assert state["clientStatsSent"] == 0
    assert any(m["type"] == "ping" for m in texts), texts


MICROPHONE_FAILURES = {
    "NotAllowedError": "Microphone access was denied",
    "NotFoundError": "No microphone was found",
}


@pytest.mark.parametrize("exception", MICROPHONE_FAILURES)
def test_a_microphone_that_is_denied_or_absent_is_told_in_words(
    page: Page, page_server: LiveServer, exception: str
):
    # What the browser's getUserMedia rejects with when the user says no, or when
    # there is no microphone; the fake device cannot do either.
    page.add_init_script(
        "navigator.mediaDevices.getUserMedia = () =>"
        f" Promise.reject(new DOMException('refused for the test', '{exception}'));"
    )
    page.goto(page_server.http_url + "/")
    wait_until(page, "s.state === 'idle'", "state 'idle' after loading", 10)
    page.click("#start")
    state = wait_for(page, "s.state === 'error'", "the microphone's refusal", 10)

    assert (
        page.locator("#message-title").text_content()
        == (MICROPHONE_FAILURES[exception])
    )
    assert state["lastError"]["detail"] == "refused for the test"
    assert page.locator("#start").is_enabled()


def test_the_page_loads_nothing_from_other_sites(page: Page, page_server: LiveServer):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    start_streaming(page, page_server.http_url + "/")
    wait_until(page, "s.framesReceived > 2", "frames back", 10)
    stop_streaming(page)

    origins = {page_server.http_url, page_server.ws_url}
    elsewhere = [
        url
        for url in requested
        if not url.startswith("data:")
        and not any(url.startswith(origin + "/") for origin in origins)
    ]
    assert requested and elsewhere == []
