"""Per-session counters, cheap enough to update on every frame.

Pure: no Django, no I/O. The field names are the ones the ``stats`` message reports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class SessionStats:
    """What one session has received, sent and spent; see docs/protocol.md."""

    started: float = field(default_factory=time.monotonic)
    frames_in: int = 0  # binary messages accepted and processed
    frames_out: int = 0  # binary replies sent
    bytes_in: int = 0  # payload bytes of all binary messages, bad ones included
    bytes_out: int = 0
    samples_in: int = 0  # samples in accepted frames
    bad_frames: int = 0
    rate_limited_frames: int = 0  # dropped for going faster than the audio rate
    nonfinite_samples: int = 0
    errors: int = 0  # error messages sent
    proc_ns_total: int = 0  # decode -> process -> encode, summed over frames_in
    proc_ns_max: int = 0

    def frame_processed(self, samples: int, proc_ns: int) -> None:
        self.frames_in += 1
        self.samples_in += samples
        self.proc_ns_total += proc_ns
        if proc_ns > self.proc_ns_max:
            self.proc_ns_max = proc_ns

    def reply_sent(self, nbytes: int) -> None:
        self.frames_out += 1
        self.bytes_out += nbytes

    def snapshot(self) -> dict[str, Any]:
        mean_ns = self.proc_ns_total / self.frames_in if self.frames_in else 0.0
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
            "proc_us_mean": round(mean_ns / 1000, 3),
            "proc_us_max": round(self.proc_ns_max / 1000, 3),
            "uptime_s": round(time.monotonic() - self.started, 3),
        }
