"""Processors that tests add to the server through WSAUDIO_PROCESSORS."""

import os
import threading
import time

import numpy as np

from echo.processors import Option, Processor

HOLD_SECONDS = float(os.environ.get("WSAUDIO_TEST_HOLD_MS", "5")) / 1000
ALWAYS_FAILS = "tests.extra_processors.AlwaysFails"
# It blocks the event loop on purpose, as a loaded machine would: the server reads
# the client's next messages (its close included) only in batches, so a backlog of
# frames waits behind each session while its connection ends. That makes the close
# paths' races happen on every run instead of on busy hosts only.
SLOW = "tests.extra_processors.Slow"


class AlwaysFails(Processor):
    name = "always_fails"
    description = "raises on every block"

    def process(self, block):
        raise RuntimeError("this processor always fails")


class Slow(Processor):
    name = "slow"
    description = "the identity, a few milliseconds late"
    identity = True

    def process(self, block):
        time.sleep(HOLD_SECONDS)
        return block


# Heavy ones: they run on the processing threads, admitted by their declared cost.
SLEEPY = "tests.extra_processors.Sleepy"
HEAVY_FAILS = "tests.extra_processors.HeavyFails"
PURE_DELAY = "tests.extra_processors.PureDelay"
SLEEPY_SECONDS = 0.02
SLEEPY_COST = 0.4  # CPU-seconds per second of audio, as it declares


class Sleepy(Processor):
    """The identity after 20 ms in a call that releases the GIL, as a heavy
    library's would: it holds a processing thread, never the event loop."""

    name = "sleepy"
    description = "the identity, 20 ms late, on a processing thread"
    identity = True
    heavy = True
    cost_per_second = {8000: SLEEPY_COST, 48000: SLEEPY_COST}

    def process(self, block):
        time.sleep(SLEEPY_SECONDS)
        return block


class HeavyFails(Processor):
    name = "heavy_fails"
    description = "raises on every block, on a processing thread"
    heavy = True
    cost_per_second = {8000: 0.01}

    def process(self, block):
        raise RuntimeError("this heavy processor always fails")


class PureDelay(Processor):
    """Its input ``samples`` late: the latency the pipeline announces, exactly."""

    name = "pure_delay"
    description = "delays the audio by a whole number of samples"
    options = (
        Option.integer(
            "samples", 100, min=0, max=48000, unit="samples", description="how late"
        ),
    )

    def __init__(self, rate, **values):
        super().__init__(rate, **values)
        self.latency_samples = values["samples"]
        self.line = np.zeros(self.latency_samples, dtype=np.float32)

    def process(self, block):
        joined = np.concatenate([self.line, block])
        self.line = joined[block.size :]
        return joined[: block.size]


GATED = "tests.extra_processors.Gated"
# Held shut, it keeps a Gated frame on its processing thread until the test opens it:
# what the server does meanwhile is then the same on every run, idle or loaded.
GATE = threading.Event()


class Gated(Processor):
    """The identity, once GATE is open (a heavy library that takes its time)."""

    name = "gated"
    description = "the identity, when the test lets it through"
    identity = True
    heavy = True
    cost_per_second = {8000: 0.1}

    def process(self, block):
        if not GATE.wait(timeout=30):
            raise TimeoutError("the test never opened the gate")
        return block
