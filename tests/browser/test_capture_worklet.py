"""The capture worklet in Chromium sends exactly what the Node-tested modules compute.

An OfflineAudioContext renders a known signal through the real
``wsaudio-capture`` worklet, at the rates browsers run at. Its frames must be
bit-identical to static/echo/resampler.js run under Node and cut into frames, so
that tests/js's measurements (alias rejection, flatness) hold for what a browser
sends, at 48 kHz as well as at the fake microphone's 44.1 kHz.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest
from playwright.sync_api import Page

from ..live.server import LiveServer
from .playback import resample_like_the_page

pytestmark = pytest.mark.browser

TARGET_RATE = 16384
FRAME = 1024
SECONDS = 2.0
QUANTUM = 128  # samples per Web Audio render quantum

RENDER = """async ({ rate, targetRate, frameSize, input }) => {
  const bytes = Uint8Array.from(atob(input), (c) => c.charCodeAt(0));
  const samples = new Float32Array(bytes.buffer);
  const context = new OfflineAudioContext(1, samples.length, rate);
  await context.audioWorklet.addModule("/static/echo/capture-processor.js");
  const buffer = context.createBuffer(1, samples.length, rate);
  buffer.copyToChannel(samples, 0);
  const source = new AudioBufferSourceNode(context, { buffer });
  const capture = new AudioWorkletNode(context, "wsaudio-capture", {
    numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1,
    channelCountMode: "explicit", processorOptions: { targetRate, frameSize },
  });
  const frames = [];
  capture.port.onmessage = ({ data }) => frames.push(new Uint8Array(data));
  source.connect(capture);
  source.start(0);
  await context.startRendering();
  // The worklet's messages arrive after rendering ends: wait until they stop.
  for (let seen = -1; seen !== frames.length; ) {
    seen = frames.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  let text = "";
  for (const frame of frames) text += String.fromCharCode(...frame);
  return btoa(text);
}"""


def known_signal(rate: int) -> np.ndarray:
    """Seeded noise and two tones, one above 8192 Hz, as float32 at ``rate``.

    Whole render quanta long: a context renders whole quanta, and silence after the
    signal would make more frames.
    """
    t = np.arange(round(SECONDS * rate) // QUANTUM * QUANTUM) / rate
    noise = np.random.default_rng(rate).uniform(-0.2, 0.2, len(t))
    tones = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 12000 * t)
    return (noise + tones).astype(np.float32)


@pytest.mark.parametrize("rate", [44100, 48000, 22050])
def test_capture_worklet_frames_are_bit_identical_to_the_node_tested_resampler(
    page: Page, browser_server: LiveServer, console_errors: list[str], rate: int
):
    page.goto(f"{browser_server.http_url}/")
    signal = known_signal(rate)
    sent = page.evaluate(
        RENDER,
        {
            "rate": rate,
            "targetRate": TARGET_RATE,
            "frameSize": FRAME,
            "input": base64.b64encode(signal.tobytes()).decode(),
        },
    )
    frames = np.frombuffer(base64.b64decode(sent), "<f4").reshape(-1, FRAME)
    expected = resample_like_the_page(signal, rate, TARGET_RATE)
    whole = len(expected) // FRAME
    assert len(frames) == whole, f"{len(frames)} frames from the worklet, not {whole}"
    differ = np.flatnonzero(
        np.any(frames != expected[: whole * FRAME].reshape(-1, FRAME), axis=1)
    )
    assert differ.size == 0, (
        f"{differ.size} frames differ from Node's, first #{differ[:1]}"
    )
    assert console_errors == []
