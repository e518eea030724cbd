"""Changes of setting without clicks, whatever the framing.

Pure: no Django, no I/O. A level or a mix ramps linearly over RAMP_SECONDS of
audio; a filter, a delay time or a modulator crossfades from the old setting's
output to the new one's over the same span. Both count samples, not frames, so a
change sounds the same however the client splits its stream.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

RAMP_SECONDS = 0.02
# A new setting of a stateful kernel (a filter, a compressor) starts from a copy
# warmed on this much of the latest input, so it joins the stream already settled.
WARMUP_SECONDS = 0.5

# Fades under way at once in one processor. Only a client that sends changes a few
# samples apart gets deeper; there the oldest fade ends at once, so the work per
# block stays bounded however many changes come.
MAX_FADES = 4

Kernel = Callable[[np.ndarray], np.ndarray]


def ramp_samples(rate: int) -> int:
    return max(1, round(RAMP_SECONDS * rate))


class Ramp:
    """A value that moves linearly to each new target over RAMP_SECONDS of audio."""

    def __init__(self, value: float, rate: int) -> None:
        self.length = ramp_samples(rate)
        self.start = self.target = float(value)
        self.done = self.length  # samples of the current ramp already played

    @property
    def moving(self) -> bool:
        return self.done < self.length

    def set(self, target: float, start: float | None = None) -> None:
        """Head for ``target`` from where the ramp is now (or from ``start``)."""
        self.start = self.current() if start is None else start
        self.target = float(target)
        self.done = 0

    def current(self) -> float:
        share = self.done / self.length
        return self.start + (self.target - self.start) * share

    def next(self, samples: int) -> float | np.ndarray:
        """The value for each of the next ``samples``: a float once settled."""
        if not self.moving:
            return self.target
        steps = np.arange(self.done + 1, self.done + samples + 1, dtype=np.float64)
        np.minimum(steps, self.length, out=steps)
        self.done = min(self.length, self.done + samples)
        return self.start + (self.target - self.start) * (steps / self.length)


class Crossfade:
    """Weights from the old output to the new one, over RAMP_SECONDS of audio."""

    def __init__(self, rate: int) -> None:
        self.weight = Ramp(1.0, rate)

    @property
    def active(self) -> bool:
        return self.weight.moving

    def begin(self) -> None:
        self.weight.set(1.0, start=0.0)

    def mix(self, old: np.ndarray, new: np.ndarray) -> np.ndarray:
        """(1 - w) * old + w * new, w rising sample by sample to 1."""
        weight = self.weight.next(len(new))
        return old + (new - old) * weight


class History:
    """The latest samples of the input, to warm a new kernel on."""

    def __init__(self, size: int) -> None:
        self.samples = np.zeros(max(1, size), dtype=np.float32)
        self.end = 0  # where the next sample goes

    def push(self, block: np.ndarray) -> None:
        size = len(self.samples)
        if len(block) >= size:
            self.samples[:] = block[-size:]
            self.end = 0
            return
        first = min(len(block), size - self.end)
        self.samples[self.end : self.end + first] = block[:first]
        self.samples[: len(block) - first] = block[first:]
        self.end = (self.end + len(block)) % size

    def latest(self) -> np.ndarray:
        """Every kept sample, oldest first (zeros before the session's start)."""
        return np.concatenate([self.samples[self.end :], self.samples[: self.end]])


class Fader:
    """A source of samples whose changes crossfade: from what was playing to the
    new source, over RAMP_SECONDS. A change during a fade fades from that fade as
    it goes on, so nothing jumps."""

    def __init__(self, source: Callable[..., np.ndarray], rate: int) -> None:
        self.rate = rate
        self.source = source
        self.old: Callable[..., np.ndarray] | None = None
        self.fade = Crossfade(rate)

    @property
    def active(self) -> bool:
        return self.old is not None

    def change(self, source: Callable[..., np.ndarray]) -> None:
        if self.fade.active and self.fade.weight.done == 0:
            self.source = source  # nothing of the last target was heard yet
            return
        if self.fade.active:
            self.old = _Fading(self.old, self.source, self.fade)
            self.old.cut_below(MAX_FADES)
            self.fade = Crossfade(self.rate)
        else:
            self.old = self.source
        self.source = source
        self.fade.begin()

    def __call__(self, *args) -> np.ndarray:
        new = self.source(*args)
        if self.old is not None:
            new = self.fade.mix(self.old(*args), new)
            if not self.fade.active:
                self.old = None
        return new


class _Fading:
    """A crossfade still under way, as a source: what an interrupted fade plays."""

    def __init__(self, old, new, fade: Crossfade) -> None:
        self.old, self.new, self.fade = old, new, fade

    def __call__(self, *args) -> np.ndarray:
        if not self.fade.active:  # over: the old source is silent for good
            return self.new(*args)
        return self.fade.mix(self.old(*args), self.new(*args))

    def cut_below(self, depth: int) -> None:
        """End at once the fades nested deeper than ``depth``."""
        node = self
        for _ in range(depth - 1):
            if not isinstance(node.old, _Fading):
                return
            node = node.old
        if isinstance(node.old, _Fading):
            node.old = node.old.new


class CrossfadedKernel(Fader):
    """A stateful kernel (a filter, a compressor) whose changes of setting
    crossfade; a new kernel is warmed on the latest input, so it starts settled."""

    def __init__(self, kernel: Kernel, rate: int) -> None:
        super().__init__(kernel, rate)
        self.history = History(round(WARMUP_SECONDS * rate))

    def replace(self, kernel: Kernel) -> None:
        kernel(self.history.latest())
        self.change(kernel)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        processed = super().__call__(block)
        self.history.push(block)
        return processed
