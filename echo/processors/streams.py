"""Streams for the voice processors: a resampler, and a FIFO of samples.

Pure: no Django, no I/O. soxr's streaming resampler gives the same samples however
its input is split (the values depend only on the stream), but it gives them in
bursts of its own: after ``n`` samples in, how many have come out depends on
``n`` alone, yet runs hundreds of samples behind ``n`` times the ratio. A
processor that must hand back as many samples as it took keeps a FIFO prefilled
with silence for that shortfall, so ``lag_bound`` measures it once per pair of
rates.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import soxr

# soxr's low quality: flat to 0.73 of the lower rate's Nyquist frequency (-3.5 dB
# at 0.79), 16-bit rejection. Its higher qualities hold back their output in
# larger bursts: a round trip 16384 -> 48000 -> 16384 Hz is up to 96 ms behind
# with "HQ", 31 ms with "LQ" (103 and 77 ms, 303 and 77 ms at 8000 Hz).
QUALITY = "LQ"

# The probe behind lag_bound: zeros fed this many at a time, until this many
# bursts have come after the first one.
PROBE_CHUNK = 16
PROBE_BURSTS = 8
PROBE_LIMIT_SECONDS = 2.0


class Resampler:
    """One mono stream from ``from_rate`` to ``to_rate``, float32 in and out."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self.stream = soxr.ResampleStream(
            from_rate, to_rate, 1, dtype="float32", quality=QUALITY
        )

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        """What ``samples`` let out: often none, sometimes a burst."""
        return self.stream.resample_chunk(np.ascontiguousarray(samples, np.float32))


@functools.cache
def lag_bound(from_rate: int, to_rate: int) -> float:
    """How far a Resampler's output can fall behind its input, in output samples:
    after any ``n`` samples in, at least ``n * to_rate / from_rate`` minus this
    have come out.

    soxr lets its output out in bursts at a steady spacing of input. After each
    burst the shortfall is back near the same level, within one unit of the
    burst sizes (the greatest common divisor of those that differ), and between
    bursts it grows by the ratio per input sample. A probe of zeros, PROBE_CHUNK
    samples at a time until PROBE_BURSTS bursts (0.1 to 0.4 s of audio, about a
    millisecond of work), measures the level, the unit and the spacing, each
    rounded up by what the chunks can hide.
    """
    stream = Resampler(from_rate, to_rate)
    ratio = to_rate / from_rate
    zeros = np.zeros(PROBE_CHUNK, dtype=np.float32)
    taken = given = 0
    first = 0.0  # the shortfall before the first burst: the filter filling
    after: list[float] = []  # the shortfall after each later burst
    at: list[int] = []  # input taken by the end of the call that let it out
    sizes: set[int] = set()
    while len(after) < PROBE_BURSTS and taken < PROBE_LIMIT_SECONDS * from_rate:
        taken += PROBE_CHUNK
        burst = len(stream(zeros))
        if not burst:
            continue
        given += burst
        if not first:
            first = taken * ratio
            continue
        after.append(taken * ratio - given)
        at.append(taken)
        sizes.add(burst)
    unit = math.gcd(*sizes) if len(sizes) > 1 else 0
    level = max(max(after), min(after) + unit)
    spacing = max(np.diff(at).max() if len(at) > 1 else 0, PROBE_CHUNK)
    return max(first, level + (spacing + PROBE_CHUNK) * ratio) + 1.0


class SampleFifo:
    """float32 samples in, in any counts; out oldest first, by count or in whole
    blocks. May start with ``silence`` zeros already in."""

    def __init__(self, silence: int = 0, capacity: int = 4096) -> None:
        self.buffer = np.zeros(max(capacity, 2 * silence), dtype=np.float32)
        self.start = 0  # the oldest sample held
        self.end = silence  # where the next sample goes

    def __len__(self) -> int:
        return self.end - self.start

    def push(self, samples: np.ndarray) -> None:
        count = len(samples)
        if self.end + count > len(self.buffer):
            self._make_room(count)
        self.buffer[self.end : self.end + count] = samples
        self.end += count

    def take(self, count: int) -> np.ndarray:
        """The ``count`` oldest samples, as a new array; raise if fewer are held."""
        if count > len(self):
            raise ValueError(f"{count} samples asked of a FIFO that holds {len(self)}")
        taken = self.buffer[self.start : self.start + count].copy()
        self._consume(count)
        return taken

    def take_blocks(self, size: int) -> np.ndarray:
        """Every whole block of ``size`` held, oldest first, as rows of a view
        that is valid until the next push."""
        rows = len(self) // size
        blocks = self.buffer[self.start : self.start + rows * size].reshape(rows, size)
        self._consume(rows * size)
        return blocks

    def _consume(self, count: int) -> None:
        self.start += count
        if self.start == self.end:  # empty: the next push starts at the front
            self.start = self.end = 0

    def _make_room(self, count: int) -> None:
        held = len(self)
        if held + count > len(self.buffer) // 2:
            grown = np.zeros(2 * (held + count), dtype=np.float32)
            grown[:held] = self.buffer[self.start : self.end]
            self.buffer = grown
        else:
            self.buffer[:held] = self.buffer[self.start : self.end]
        self.start, self.end = 0, held
