"""Per-session counters, cheap enough to update on every frame.

Pure: no Django, no I/O. The field names are the ones the ``stats`` message reports.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import numpy as np

from .levels import LevelMeter

# Sessions this process refused before ``ready``, by reason: "origin" (HTTP 403),
# "bad_request" and "busy". They leave no session record, so they are counted here.
REFUSED: Counter[str] = Counter()

# Upper edges of the processing-time buckets: 20 per decade (each 12% wide) from
# 1 µs to 10 s, so a percentile read from them is at most 12% above the truth.
BUCKETS_PER_DECADE = 20
BUCKET_EDGES_NS = tuple(
    round(1000 * 10 ** (i / BUCKETS_PER_DECADE))
    for i in range(7 * BUCKETS_PER_DECADE + 1)
)


@dataclass(slots=True)
class DurationHistogram:
    """Counts of durations in fixed buckets, for percentiles without keeping samples."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKET_EDGES_NS) + 1))
    total: int = 0
    largest_ns: int = 0

    def add(self, ns: int) -> None:
        self.counts[bisect_right(BUCKET_EDGES_NS, ns)] += 1
        self.total += 1
        if ns > self.largest_ns:
            self.largest_ns = ns

    def percentile_ns(self, fraction: float) -> int:
        """The upper edge of the bucket holding that fraction of durations (capped
        at the largest seen); 0 when empty."""
        if not self.total:
            return 0
        rank = max(1, math.ceil(fraction * self.total))
        index = bisect_left(list(accumulate(self.counts)), rank)
        if index == len(BUCKET_EDGES_NS):
            return self.largest_ns
        return min(BUCKET_EDGES_NS[index], self.largest_ns)


@dataclass(slots=True)
class SessionStats:
    """What one session has received, sent and spent; see docs/protocol.md."""

    started: float = field(default_factory=time.monotonic)
    frames_in: int = 0  # binary messages accepted and processed
    frames_out: int = 0  # binary replies the server's send took
    bytes_in: int = 0  # payload bytes of all binary messages, bad ones included
    bytes_out: int = 0
    samples_in: int = 0  # samples in accepted frames
    bad_frames: int = 0
    rate_limited_frames: int = 0  # dropped for going faster than the audio rate
    nonfinite_samples: int = 0
    errors: int = 0  # error messages sent
    proc_ns_total: int = 0  # decode -> process -> encode, summed over frames_in
    proc_times: DurationHistogram = field(default_factory=DurationHistogram)
    levels: LevelMeter = field(default_factory=LevelMeter)  # of the audio received

    def frame_processed(self, samples: np.ndarray, proc_ns: int) -> None:
        """Count one accepted frame: its decoded samples and its processing time."""
        self.frames_in += 1
        self.samples_in += samples.size
        self.proc_ns_total += proc_ns
        self.proc_times.add(proc_ns)
        self.levels.measure(samples)

    def reply_sent(self, nbytes: int) -> None:
        """A reply handed to the server's send (which takes it, or it is dropped)."""
        self.frames_out += 1
        self.bytes_out += nbytes

    def reply_dropped(self, nbytes: int) -> None:
        """A reply counted by reply_sent never went out: its client stopped reading,
        or the connection was gone."""
        self.frames_out -= 1
        self.bytes_out -= nbytes

    @property
    def proc_us_mean(self) -> float:
        mean_ns = self.proc_ns_total / self.frames_in if self.frames_in else 0.0
        return round(mean_ns / 1000, 3)

    @property
    def proc_us_p99(self) -> float:
        return round(self.proc_times.percentile_ns(0.99) / 1000, 3)

    @property
    def proc_us_max(self) -> float:
        return round(self.proc_times.largest_ns / 1000, 3)

    def snapshot(self) -> dict[str, Any]:
        return {
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "samples_in": self.samples_in,
            "bad_frames": self.bad_frames,
            "rate_limited_frames": self.rate_limited_frames,
            "nonfinite_samples": self.nonfinite_samples,
            "errors": self.errors,
            "peak_dbfs": round(self.levels.peak_dbfs, 2),
            "rms_dbfs": round(self.levels.rms_dbfs, 2),
            "proc_us_mean": self.proc_us_mean,
            "proc_us_p99": self.proc_us_p99,
            "proc_us_max": self.proc_us_max,
            "uptime_s": round(time.monotonic() - self.started, 3),
        }
