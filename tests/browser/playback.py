"""What the page's playback worklet actually played, and a check of it.

A test-only AudioWorklet, installed before the page loads, taps the output of
every "wsaudio-playback" node. What it heard must be, sample for sample, the audio
the page received, upsampled by the page's own resampler (run under Node), with no
gap, repeat or click: only the jitter buffer's overruns and trims may skip ahead.
"""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass

import numpy as np
from playwright.sync_api import Page

from ..live.server import ROOT

RESAMPLE = ROOT / "tests" / "browser" / "resample.mjs"
BLOCK = 1024  # samples at the context rate compared at a time
# The same code in Chromium's V8 and in Node's gives the same floats; allow for
# the last bit anyway.
TOLERANCE = 1e-6

TAP_SCRIPT = """
(() => {
  const TAP = `
    class PlaybackTap extends AudioWorkletProcessor {
      constructor() { super(); this.chunk = new Float32Array(2048); this.filled = 0; }
      process(inputs) {
        const channel = inputs[0][0];
        if (channel === undefined) return true;
        this.chunk.set(channel, this.filled);
        this.filled += channel.length;
        if (this.filled === this.chunk.length) {
          this.port.postMessage(this.chunk, [this.chunk.buffer]);
          this.chunk = new Float32Array(2048);
          this.filled = 0;
        }
        return true;
      }
    }
    registerProcessor("wsaudio-test-tap", PlaybackTap);`;
  const tapUrl = URL.createObjectURL(new Blob([TAP], { type: "text/javascript" }));
  const tapAdded = new WeakMap();
  const addModule = AudioWorklet.prototype.addModule;
  AudioWorklet.prototype.addModule = function (url, options) {
    if (!tapAdded.has(this)) tapAdded.set(this, addModule.call(this, tapUrl));
    return tapAdded.get(this).then(() => addModule.call(this, url, options));
  };
  window.wsaudioPlayed = [];
  const Original = window.AudioWorkletNode;
  window.AudioWorkletNode = class extends Original {
    constructor(context, name, options) {
      super(context, name, options);
      if (name !== "wsaudio-playback") return;
      this.tap = new Original(context, "wsaudio-test-tap", {
        numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1,
        channelCountMode: "explicit",
      });
      this.tap.port.onmessage = ({ data }) => window.wsaudioPlayed.push(data);
      this.connect(this.tap);
    }
  };
})();
"""

READ_PLAYED = """() => {
  const chunks = window.wsaudioPlayed;
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(new Uint8Array(chunk.buffer), offset);
    offset += chunk.byteLength;
  }
  let text = "";
  for (let i = 0; i < bytes.length; i += 32768) {
    text += String.fromCharCode(...bytes.subarray(i, i + 32768));
  }
  return btoa(text);
}"""


def install_playback_tap(page: Page) -> None:
    """Record every playback node's output; call before the page loads."""
    page.add_init_script(TAP_SCRIPT)


def played_samples(page: Page) -> np.ndarray:
    """The float32 samples the playback worklet output, at the context rate."""
    return np.frombuffer(base64.b64decode(page.evaluate(READ_PLAYED)), "<f4")


def resample_like_the_page(samples: np.ndarray, from_rate: int, to_rate: int):
    """``samples`` through static/echo/resampler.js, in Node, as float32."""
    result = subprocess.run(
        ["node", str(RESAMPLE), str(from_rate), str(to_rate)],
        input=samples.astype("<f4").tobytes(),
        capture_output=True,
        check=True,
    )
    return np.frombuffer(result.stdout, "<f4")


@dataclass(frozen=True)
class Playback:
    """How the played audio lines up with the received audio, upsampled."""

    compared: int  # samples of the received audio found, exactly, in what was played
    skips: int  # times playback jumped ahead in the received audio (overruns, trims)
    damaged: int  # blocks played differently from the received audio, in place
    gaps: int  # times playback fell behind: silence or audio played twice
    max_error: float  # largest difference in the blocks that matched

    def __str__(self) -> str:
        return (
            f"{self.compared} samples played exactly as received, "
            f"{self.skips} skips, {self.damaged} damaged blocks, {self.gaps} gaps, "
            f"largest difference {self.max_error:.1e}"
        )


def compare_playback(played: np.ndarray, expected: np.ndarray) -> Playback:
    """Walk ``played`` block by block through ``expected``.

    Playback starts with silence (the pre-buffer), then each block must equal the
    next block of ``expected``. Where one does not, the walk looks for the next
    block with sound: found further on in ``expected`` is a skip (an overrun or a
    trim dropped audio), in its place means the block itself was damaged (a click,
    a changed sample), and later in ``played`` a gap (silence or a repeat came
    between). A block found nowhere ends the walk, so ``compared`` falls short.
    """
    position = first_sound(expected)
    lag = first_sound(played) - position  # played[i + lag] == expected[i]
    compared = skips = damaged = gaps = 0
    max_error = 0.0
    while position + BLOCK <= len(expected) and position + lag + BLOCK <= len(played):
        want = expected[position : position + BLOCK]
        got = played[position + lag : position + lag + BLOCK]
        error = float(np.max(np.abs(got - want)))
        if error <= TOLERANCE:
            max_error = max(max_error, error)
            compared += BLOCK
            position += BLOCK
            continue
        # Where does the next sound sit? Silent blocks fit anywhere: look past them.
        probe = position + lag + BLOCK
        while probe + BLOCK <= len(played) and is_silent(played[probe:][:BLOCK]):
            probe += BLOCK
        found = find_block(expected, played[probe:][:BLOCK], position)
        if found is None:
            break
        new_lag = probe - found
        if new_lag == lag:
            damaged += 1
        elif new_lag < lag:
            skips += 1
        else:
            gaps += 1
        position += BLOCK + lag - new_lag  # the block after this one, at the new lag
        lag = new_lag
    return Playback(compared, skips, damaged, gaps, max_error)


def first_sound(samples: np.ndarray) -> int:
    """The index of the first sample that is not silence."""
    loud = np.flatnonzero(np.abs(samples) > TOLERANCE)
    if len(loud) == 0:
        raise ValueError("nothing but silence")
    return int(loud[0])


def is_silent(samples: np.ndarray) -> bool:
    return bool(np.max(np.abs(samples), initial=0.0) <= TOLERANCE)


def find_block(expected: np.ndarray, block: np.ndarray, after: int) -> int | None:
    """Where ``block`` (not silent) sits in ``expected`` past ``after``, or None."""
    if len(block) < BLOCK or is_silent(block):
        return None
    # Only where the first sample already matches: a few candidates, not all.
    starts = after + np.flatnonzero(np.abs(expected[after:] - block[0]) <= TOLERANCE)
    for start in starts:
        window = expected[start : start + BLOCK]
        if len(window) == BLOCK and np.max(np.abs(window - block)) <= TOLERANCE:
            return int(start)
    return None
