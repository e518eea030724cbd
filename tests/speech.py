"""For the voice processors' tests: espeak-ng's voice between silences, with where
the speech is; white noise to mix in; and random framings to stream them in."""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np
import soundfile
import soxr

# One breath: espeak-ng leaves no pause in it longer than 40 ms (its stops).
TEXT = "The quick brown fox jumps over the lazy dog"
SPEECH_PEAK = 0.5  # the voice's peak, -6 dBFS
QUIET = 1e-3  # of the peak: espeak's own silence before and after the words


@dataclass(frozen=True)
class Speech:
    """Silence, the sentence, silence: float32 at ``rate``."""

    samples: np.ndarray
    rate: int
    start: int  # the first sample of the speech
    end: int  # one past its last

    def seconds(self, sample: int) -> float:
        return sample / self.rate


@functools.cache
def _spoken() -> tuple[np.ndarray, int]:
    """The sentence as espeak-ng says it, its own silence cut off."""
    if shutil.which("espeak-ng") is None:
        raise RuntimeError(
            "the voice tests need espeak-ng (scripts/debian-packages.txt)"
        )
    wav = subprocess.run(
        ["espeak-ng", "--stdout", TEXT], check=True, capture_output=True, timeout=30
    ).stdout
    samples, rate = soundfile.read(io.BytesIO(wav), dtype="float32")
    loud = np.flatnonzero(np.abs(samples) > QUIET * np.abs(samples).max())
    voice = samples[loud[0] : loud[-1] + 1]
    return voice * (SPEECH_PEAK / np.abs(voice).max()), rate


def speech(rate: int, before: float = 1.0, after: float = 1.0) -> Speech:
    """``before`` seconds of silence, the sentence at ``rate``, ``after`` seconds."""
    voice, voice_rate = _spoken()
    voice = soxr.resample(voice, voice_rate, rate, quality="VHQ").astype(np.float32)
    lead, tail = round(before * rate), round(after * rate)
    samples = np.concatenate(
        [np.zeros(lead, np.float32), voice, np.zeros(tail, np.float32)]
    )
    return Speech(samples, rate, lead, lead + len(voice))


def white_noise(count: int, rms: float, seed: int = 0) -> np.ndarray:
    """Gaussian white noise, float32, at ``rms`` (0.01: 40 dB below full scale)."""
    return (rms * np.random.default_rng(seed).standard_normal(count)).astype(np.float32)


def random_splits(total: int, seed: int, longest: int = 0) -> list[int]:
    """1-sample blocks first, then blocks of 1 to ``longest`` samples (by default
    a mix of short ones and up to a quarter of the stream)."""
    rng = np.random.default_rng(seed)
    sizes = [1] * 100
    used = len(sizes)
    while used < total:
        most = longest or int(rng.choice([1, 64, 2048, total // 4]))
        sizes.append(int(rng.integers(1, most + 1)))
        used += sizes[-1]
    sizes[-1] -= used - total
    return sizes


# Two mixes of short and long blocks, and short blocks only.
SPLITS = [{"seed": 1}, {"seed": 2}, {"seed": 3, "longest": 100}]


def through_splits(process, samples: np.ndarray, sizes: list[int]) -> np.ndarray:
    """``samples`` through ``process`` in blocks of ``sizes``, end to end."""
    ends = np.cumsum(sizes)
    blocks = [samples[end - size : end] for size, end in zip(sizes, ends, strict=True)]
    return np.concatenate([process(block) for block in blocks])
