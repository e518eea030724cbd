"""Effects: a feedback delay, pedalboard's reverb, and a ring-modulating robot."""

from __future__ import annotations

import math

import numpy as np
import pedalboard

from .base import Processor
from .options import Option
from .plugins import PluginKernel
from .smoothing import Fader, Ramp

MAX_DELAY_SECONDS = 2.0

_MIX = "share of the processed sound in the output: 0 dry, 1 wet only"


class DelayLine:
    """A ring buffer of the samples a delay has taken, by their index in the stream."""

    def __init__(self, size: int) -> None:
        self.samples = np.zeros(size, dtype=np.float32)
        self.written = 0  # samples taken since the session began

    def tap(self, delay: int):
        """Reads ``count`` samples from ``delay`` samples back (no more than that:
        later ones are not written yet)."""
        return lambda count: self.read(self.written - delay, count)

    def read(self, start: int, count: int) -> np.ndarray:
        size = len(self.samples)
        start %= size
        first = self.samples[start : start + count]
        if len(first) == count:
            return first.copy()
        return np.concatenate([first, self.samples[: count - len(first)]])

    def write(self, values: np.ndarray) -> None:
        size, start = len(self.samples), self.written % len(self.samples)
        first = min(len(values), size - start)
        self.samples[start : start + first] = values[:first]
        self.samples[: len(values) - first] = values[first:]
        self.written += len(values)


class Delay(Processor):
    """A feedback delay on a numpy ring buffer sized for MAX_DELAY_SECONDS.

    (pedalboard's Delay allocates a 30 s line per instance: 5.5 MB at 48 kHz.)
    out = (1 - mix) * x + mix * wet; the line takes x + feedback * wet.
    """

    name = "delay"
    description = "repeats the sound after a delay, each repeat quieter"
    category = "effects"
    options = (
        Option.number(
            "delay_ms",
            250,
            min=1,
            max=MAX_DELAY_SECONDS * 1000,
            unit="ms",
            description="time from the sound to its first repeat",
        ),
        Option.number(
            "feedback", 0.3, min=0, max=0.95, description="level of each repeat"
        ),
        Option.number("mix", 0.5, min=0, max=1, description=_MIX),
    )

    def __init__(self, rate: int, *, delay_ms: float, feedback: float, mix: float):
        super().__init__(rate, delay_ms=delay_ms, feedback=feedback, mix=mix)
        # The taps hold the line, not the processor: no reference cycle, so a
        # session's line is freed as soon as the session ends.
        self.line = DelayLine(round(MAX_DELAY_SECONDS * rate) + 1)
        self.delay = self._samples(delay_ms)
        self.span = self.delay  # the shortest delay still heard: a safe chunk
        self.wet = Fader(self.line.tap(self.delay), rate)
        self.feedback = Ramp(feedback, rate)
        self.mix = Ramp(mix, rate)

    def _samples(self, delay_ms: float) -> int:
        return max(1, round(delay_ms * self.rate / 1000))

    def process(self, block: np.ndarray) -> np.ndarray:
        out = np.empty(len(block), dtype=np.float32)
        if not self.wet.active:
            self.span = self.delay
        start = 0
        while start < len(block):  # chunks no longer than a delay: feedback holds
            chunk = block[start : start + self.span]
            count = len(chunk)
            wet = self.wet(count)
            self.line.write(chunk + self.feedback.next(count) * wet)
            out[start : start + count] = chunk + (wet - chunk) * self.mix.next(count)
            start += count
        return out

    def configure(self, changes) -> None:
        self.values.update(changes)
        self.feedback.set(self.values["feedback"])
        self.mix.set(self.values["mix"])
        delay = self._samples(self.values["delay_ms"])
        if delay != self.delay:
            self.delay, self.span = delay, min(self.span, delay)
            self.wet.change(self.line.tap(delay))


class Reverb(Processor):
    """pedalboard's (JUCE's) reverb, its levels ramped here.

    The plugin runs fully wet; out = 2 * dry * x + wet * (1 + width) / 2 * reverb,
    which is what JUCE computes for a mono stream, so the values mean what they
    mean in pedalboard. Room size and damping go to JUCE, which smooths them.
    """

    name = "reverb"
    description = "puts the sound in a room"
    category = "effects"
    options = (
        Option.number("room_size", 0.5, min=0, max=1, description="size of the room"),
        Option.number(
            "damping", 0.5, min=0, max=1, description="how fast the highs die away"
        ),
        Option.number("wet", 0.33, min=0, max=1, description="level of the reverb"),
        Option.number(
            "dry", 0.4, min=0, max=1, description="level of the sound itself"
        ),
        Option.number(
            "width", 1, min=0, max=1, description="stereo width (scales a mono reverb)"
        ),
    )

    def __init__(self, rate: int, **values: float) -> None:
        super().__init__(rate, **values)
        plugin = pedalboard.Reverb(
            room_size=values["room_size"],
            damping=values["damping"],
            wet_level=1.0,
            dry_level=0.0,
            width=1.0,
        )
        self.plugin = PluginKernel(plugin, rate)
        self.dry_gain = Ramp(self._dry_gain(), rate)
        self.wet_gain = Ramp(self._wet_gain(), rate)

    def _dry_gain(self) -> float:
        return 2.0 * self.values["dry"]

    def _wet_gain(self) -> float:
        return self.values["wet"] * (1.0 + self.values["width"]) / 2.0

    def process(self, block: np.ndarray) -> np.ndarray:
        count = len(block)
        reverb = self.plugin(block)
        out = np.multiply(block, self.dry_gain.next(count), dtype=np.float32)
        out += reverb * self.wet_gain.next(count)
        return out

    def configure(self, changes) -> None:
        self.values.update(changes)
        self.plugin.plugin.room_size = self.values["room_size"]
        self.plugin.plugin.damping = self.values["damping"]
        self.dry_gain.set(self._dry_gain())
        self.wet_gain.set(self._wet_gain())


class Robot(Processor):
    """Ring modulation: y[n] = x[n] * sin(2 pi hz n / rate), n counted from the
    session's first sample; a new hz crossfades from the old modulator."""

    name = "robot"
    description = "a metallic, robotic voice (ring modulation)"
    category = "effects"
    options = (
        Option.number(
            "hz", 50, min=10, max=2000, unit="Hz", description="modulator frequency"
        ),
    )

    def __init__(self, rate: int, *, hz: float) -> None:
        super().__init__(rate, hz=hz)
        self.played = 0  # samples since the session's first
        self.modulator = Fader(self._sine(hz), rate)

    def _sine(self, hz: float):
        step = 2.0 * math.pi * hz / self.rate
        return lambda n: np.sin(step * n)

    def process(self, block: np.ndarray) -> np.ndarray:
        n = np.arange(self.played, self.played + len(block), dtype=np.float64)
        self.played += len(block)
        return np.multiply(block, self.modulator(n), dtype=np.float32)

    def configure(self, changes) -> None:
        if changes.get("hz", self.values["hz"]) != self.values["hz"]:
            self.modulator.change(self._sine(changes["hz"]))
        self.values.update(changes)
