"""Summaries of timings: percentiles in milliseconds, and how late a loop runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import numpy as np

PERCENTILES = (50, 95, 99)

# The clock of every timing here: monotonic, to the microsecond and better. An
# event loop's own clock may not be (uvloop's counts whole milliseconds).
now = time.perf_counter


def percentiles_ms(seconds: Sequence[float] | np.ndarray) -> dict[str, float | None]:
    """p50, p95, p99 and max of durations given in seconds, in milliseconds
    (rounded to the microsecond); all None when there are none."""
    values = np.asarray(seconds, dtype=np.float64)
    if values.size == 0:
        return {f"p{p}": None for p in PERCENTILES} | {"max": None}
    points = np.percentile(values, PERCENTILES) * 1000
    summary = {
        f"p{p}": round(float(v), 3) for p, v in zip(PERCENTILES, points, strict=True)
    }
    return summary | {"max": round(float(values.max()) * 1000, 3)}


async def sleep_until(deadline: float) -> None:
    """Sleep until ``now()`` reads ``deadline``: an absolute schedule, so late
    wake-ups do not add up."""
    delay = deadline - now()
    if delay > 0:
        await asyncio.sleep(delay)


class LoopLag:
    """How late this event loop wakes a task that asked for ``interval``.

    A loaded generator wakes late; its lag is reported beside the server's round
    trips so that an overloaded client is not taken for a slow server.
    """

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.lags: list[float] = []  # seconds late, one per wake-up

    async def watch(self) -> None:
        """Run until cancelled."""
        while True:
            due = now() + self.interval
            await asyncio.sleep(self.interval)
            self.lags.append(max(0.0, now() - due))
