"""The real application plus a processor that holds each frame a few milliseconds.

It blocks the event loop on purpose, as a loaded machine would: the server reads
the client's next messages (its close included) only in batches, so a backlog of
frames waits behind each session while its connection ends. That makes the close
paths' races happen on every run instead of on busy hosts only.
"""

import os
import time

from echo import processors
from wsaudio_site.asgi import application

HOLD_SECONDS = float(os.environ.get("WSAUDIO_TEST_HOLD_MS", "5")) / 1000


class Slow:
    name = "slow"
    description = "the identity, a few milliseconds late"

    def __init__(self, rate: int) -> None:
        self.rate = rate

    def process(self, block):
        time.sleep(HOLD_SECONDS)
        return block


processors.PROCESSORS[Slow.name] = Slow

__all__ = ["application"]
