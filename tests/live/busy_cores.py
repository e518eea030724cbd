"""Every core held busy, as on a loaded host, by spin loops that stop by themselves."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# Spins until its deadline: a test that dies without its cleanup leaves no loop behind.
SPIN = """
import sys, time
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    pass
"""


@contextmanager
def cores_held_busy(at_most_seconds: float) -> Iterator[list[int]]:
    """A spin loop per core for the block (or ``at_most_seconds``); their pids."""
    loops = [
        subprocess.Popen([sys.executable, "-c", SPIN, str(at_most_seconds)])
        for _ in range(os.cpu_count() or 1)
    ]
    try:
        yield [loop.pid for loop in loops]
    finally:
        for loop in loops:
            loop.kill()
        for loop in loops:
            loop.wait()
