"""The page's audio engine end to end: a WAV microphone, the socket, echo, playback.

Each run streams the whole test file (about 4 s) through a live daphne, stops,
then measures what the page put on the wire, as Playwright recorded it.
"""

from __future__ import annotations

import math
import time
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from playwright.sync_api import Page

from ..live.server import LiveServer
from .pages import ended_record, snapshot, wait_until
from .playback import (
    BLOCK,
    compare_playback,
    install_playback_tap,
    played_samples,
    resample_like_the_page,
)
from .signals import OUT_OF_BAND_HZ, TONE_HZ, MicSignal, measure
from .traffic import Socket, record_websockets

pytestmark = pytest.mark.browser

RATE = 16384  # Hz, the page's default target rate
FRAME = 1024  # samples: 62.5 ms at 16384 Hz
DEPTH = 2  # frames the jitter buffer fills before playback starts
WIRE = {"f32": np.dtype("<f4"), "s16": np.dtype("<i2")}
FULL_SCALE = {"f32": 1.0, "s16": 32768.0}  # the wire value of amplitude 1.0
MIN_CORRELATION = 0.9
MAX_GAIN_DB = 1.0
MAX_TONE_ERROR_HZ = 3.0
MIN_ALIAS_ATTENUATION_DB = 60.0
# Chromium's capture drops or repeats a 10 ms buffer (164 samples at 16384 Hz) now
# and then on a busy machine; a lost frame would be 1024.
MAX_SLIP = 200  # samples
# Stop plays out every reply before it closes, all but the last 1.3 ms that the
# upsampler's filter still holds (22 samples at 16384 Hz).
UNPLAYED_SECONDS = 0.002


@pytest.mark.parametrize("fmt", ["f32", "s16"])
def test_the_page_sends_the_microphone_filtered_and_plays_every_frame_back(
    page: Page,
    console_errors: list[str],
    browser_server: LiveServer,
    mic: MicSignal,
    fmt: str,
):
    sockets = record_websockets(page)
    install_playback_tap(page)
    query = f"rate={RATE}&frame={FRAME}&format={fmt}&depth={DEPTH}"
    page.goto(f"{browser_server.http_url}/?{query}")
    wait_until(page, "s.state === 'idle'", "state 'idle' after loading", 10)
    page.click("#start")
    wait_until(page, "s.state === 'running'", "state 'running' after Start", 10)
    # Enough frames for the whole file, counted from when audio started to flow.
    file_frames = math.ceil(mic.seconds * RATE / FRAME)
    wait_until(
        page,
        f"s.framesSent >= {file_frames}",
        f"{file_frames} frames sent ({mic.seconds:.1f} s of audio)",
        mic.seconds + 10,
    )
    page.click("#stop")
    wait_until(
        page,
        "s.state === 'stopped' && s.closeCode !== null",
        "state 'stopped' and a close code after Stop",
        10,
    )
    state = snapshot(page)
    # Samples at the AudioContext's rate.
    to_play = state["contextRate"] * (
        state["framesSent"] * FRAME / RATE - UNPLAYED_SECONDS
    )

    assert console_errors == []
    assert len(sockets) == 1, f"the page opened {len(sockets)} WebSockets"
    (socket,) = sockets
    check_url(socket, fmt)
    wait_for_close(page, socket)
    sent = socket.binary_sent
    received = socket.binary_received

    # Framing: every binary message is one whole frame in the requested format.
    frame_bytes = FRAME * WIRE[fmt].itemsize
    sizes = sorted({len(data) for data in sent})
    assert sizes == [frame_bytes], f"frames of {sizes} bytes sent, not {frame_bytes}"
    assert len(sent) == state["framesSent"], (
        f"{len(sent)} frames on the wire, the page counted {state['framesSent']}"
    )
    measured = measure(decode(sent, fmt), RATE, mic)
    print(f"{fmt}: {measured}\n{fmt}: {state}")  # shown with -s, and on failure

    # The echo: every frame back, byte for byte, and counted by the page.
    assert len(received) == len(sent), (
        f"{len(received)} frames received for {len(sent)} sent"
    )
    differ = [i for i, data in enumerate(received) if data != sent[i]]
    assert differ == [], f"{len(differ)} frames came back different, first #{differ[0]}"
    assert state["framesReceived"] == len(received), (
        f"the page counted {state['framesReceived']} frames received; "
        f"{len(received)} arrived"
    )

    # Playback: no gap after the jitter buffer's first fill, and Stop played it all.
    assert state["underruns"] == 0, f"{state['underruns']} underruns in playback"
    # Overruns and trims drop audio on purpose (and are counted).
    accounted = state["samplesPlayed"] + state["samplesDropped"]
    assert accounted >= to_play, (
        f"{state['samplesPlayed']} samples played and {state['samplesDropped']} "
        f"dropped at {state['contextRate']} Hz; {len(sent)} frames sent need "
        f"{to_play:.0f}"
    )
    # ...and what it played was the received audio itself, upsampled, in one piece.
    expected = resample_like_the_page(
        decode(received, fmt).astype(np.float32), RATE, state["contextRate"]
    )
    playback = compare_playback(played_samples(page), expected)
    print(f"{fmt}: {playback}")
    # The tap's last chunk (under 2048 samples) may be lost when the context closes.
    unrecorded = 3 * BLOCK + state["samplesDropped"] + playback.skips * BLOCK
    audible = len(expected) - int(np.flatnonzero(expected)[0])
    assert playback.damaged == playback.gaps == 0, f"playback: {playback}"
    skips_counted = state["overruns"] + state["trims"]
    assert playback.skips <= skips_counted, f"playback: {playback}, {state}"
    assert playback.compared >= audible - unrecorded, (
        f"playback: {playback}, of {audible} samples received"
    )

    # Stop: a normal close, seen by the page and written by the server.
    assert state["closeCode"] == 1000, f"the page saw close code {state['closeCode']}"
    record = ended_record(browser_server, state["session"])
    assert record["close_code"] == 1000, f"the server's record says {record}"
    assert record["frames_in"] == record["frames_out"] == len(sent), (
        f"the server's record says {record}"
    )

    # The audio: the file's content, at its level, with the 12 kHz tone filtered out.
    failures = []
    if abs(measured.slip) > MAX_SLIP:
        failures.append(f"slipped by more than {MAX_SLIP} samples")
    if not measured.correlation > MIN_CORRELATION:
        failures.append(f"correlation not over {MIN_CORRELATION}")
    if abs(measured.gain_db) > MAX_GAIN_DB:
        failures.append(f"gain off by more than {MAX_GAIN_DB} dB")
    if abs(measured.tone_hz - TONE_HZ) > MAX_TONE_ERROR_HZ:
        failures.append(f"tone off by more than {MAX_TONE_ERROR_HZ} Hz")
    if measured.alias_attenuation_db < MIN_ALIAS_ATTENUATION_DB:
        failures.append(
            f"{OUT_OF_BAND_HZ:.0f} Hz not {MIN_ALIAS_ATTENUATION_DB:.0f} dB down"
        )
    assert not failures, f"the audio sent: {'; '.join(failures)} ({measured})"


def decode(frames: list[bytes], fmt: str) -> np.ndarray:
    """The frames' samples as float64, 1.0 = full scale."""
    wire = np.frombuffer(b"".join(frames), dtype=WIRE[fmt])
    return wire.astype(np.float64) / FULL_SCALE[fmt]


def check_url(socket: Socket, fmt: str) -> None:
    url = urlsplit(socket.url)
    assert url.path == f"/ws/echo/{RATE}/", f"the page opened {socket.url}"
    query = parse_qs(url.query)
    assert query.get("format", ["f32"]) == [fmt], f"the page opened {socket.url}"


def wait_for_close(page: Page, socket: Socket, seconds: float = 5) -> None:
    """Until Playwright has seen the socket close, and so every frame before it."""
    deadline = time.monotonic() + seconds
    while not socket.closed:
        assert time.monotonic() < deadline, f"{socket.url} still open after {seconds} s"
        page.wait_for_timeout(20)  # ms; Playwright delivers events while it waits
