"""Processors that tests add to the server through WSAUDIO_PROCESSORS."""

import os
import time

from echo.processors import Processor

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
