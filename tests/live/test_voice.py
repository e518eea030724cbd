"""denoise and vad over the wire, on a real server: what a client sends through
them comes back as the processors make it, with the latency and the reports they
announce."""

import asyncio
import json

import numpy as np
import pytest
import websockets

from echo.processors import PROCESSORS, Chain
from tests.conftest import frames
from tests.speech import speech, white_noise

from .wire import WAIT, ready

pytestmark = pytest.mark.live

RATE = 16384
FRAME = 1024


async def stream(ws, blocks: list[np.ndarray]) -> tuple[list[bytes], list[dict]]:
    """Send each frame at twice real time (within the server's audio rate limit),
    reading its reply and what follows it before the next: the replies, and every
    text message that came with them."""
    replies, texts = [], []
    loop = asyncio.get_running_loop()
    start = loop.time()
    for index, block in enumerate(blocks):
        await asyncio.sleep(max(0.0, start + index * FRAME / RATE / 2 - loop.time()))
        await ws.send(block.tobytes())
        while True:
            message = await asyncio.wait_for(ws.recv(), WAIT)
            if isinstance(message, bytes):
                replies.append(message)
                break
            texts.append(json.loads(message))
    await ws.send(json.dumps({"type": "ping", "id": "end"}))  # the last reports
    while (message := json.loads(await asyncio.wait_for(ws.recv(), WAIT)))[
        "type"
    ] != "pong":
        texts.append(message)
    return replies, texts


async def test_denoise_returns_what_the_processor_makes_latency_samples_late(
    echo_server,
):
    voice = speech(RATE, before=0.5, after=0.5)
    noisy = voice.samples + white_noise(len(voice.samples), 0.01, seed=4)
    blocks = frames(noisy, FRAME)
    offline = Chain.build(PROCESSORS, ["denoise"], {}, RATE)
    expected = [offline.process(block) for block in blocks]
    url = f"{echo_server.ws_url}/ws/echo/{RATE}/?processor=denoise"
    async with websockets.connect(url) as ws:
        session = await ready(ws)
        assert session["latency_samples"] == offline.latency_samples > 0
        replies, texts = await stream(ws, blocks)
    assert texts == []
    heard = np.concatenate([np.frombuffer(reply, "<f4") for reply in replies])
    assert heard.size == noisy.size
    np.testing.assert_allclose(heard, np.concatenate(expected), atol=1e-6)
    latency = offline.latency_samples
    # Before the first sample comes out: silence, then RNNoise's own start.
    assert np.abs(heard[:latency]).max() < 0.1 * np.abs(noisy[:latency]).max()
    # The noise before the words comes back far quieter than it went in.
    quiet = slice(latency + voice.rate // 10, latency + voice.start - voice.rate // 10)
    assert np.std(heard[quiet]) < 0.1 * np.std(noisy[quiet.start - latency :][:1000])


async def test_vad_reports_speech_only_where_someone_speaks_and_echoes_the_audio(
    echo_server,
):
    voice = speech(RATE, before=1.0, after=1.0)
    blocks = frames(voice.samples, FRAME)
    url = f"{echo_server.ws_url}/ws/echo/{RATE}/?processor=vad"
    async with websockets.connect(url) as ws:
        session = await ready(ws)
        assert session["chain"] == [
            {"name": "vad", "options": {"threshold": 0.5, "mode": "report"}}
        ]
        replies, reports = await stream(ws, blocks)
    assert replies == [block.tobytes() for block in blocks]  # report: unchanged
    assert {report["type"] for report in reports} == {"analysis"}
    assert {report["processor"] for report in reports} == {"vad"}
    windows = len(voice.samples) * 16000 // RATE // 512
    assert len(reports) == pytest.approx(windows, abs=2)  # one per 32 ms window
    speaking = [report["frame"] for report in reports if report["speaking"]]
    assert speaking, "no window was heard as speech"
    first_speech_frame, last_speech_frame = voice.start // FRAME, voice.end // FRAME
    assert first_speech_frame <= min(speaking)
    assert max(speaking) <= last_speech_frame + 0.3 * RATE // FRAME  # hangover
