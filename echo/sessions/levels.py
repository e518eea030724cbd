"""Signal levels of the audio a session receives, in dBFS (AES17).

Pure: no Django, no I/O. The convention is echo.processors.decibels': a full-scale
sine reads 0 dBFS for both peak and RMS; silence reads the floor, FLOOR_DBFS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..processors.decibels import FLOOR_DBFS, dbfs, rms_dbfs

# Below this peak a float32 sum of squares cannot overflow, even over the longest
# frame (2**18 samples); louder blocks (finite but absurd) are summed in float64.
_FLOAT32_SAFE_PEAK = 1e15


@dataclass(slots=True)
class LevelMeter:
    """Peak and mean power over every sample measured so far."""

    peak: float = 0.0
    sum_squares: float = 0.0  # a Python float (double) so long sessions stay exact
    samples: int = 0

    def measure(self, block: np.ndarray) -> None:
        """Take in one block of float32 samples (finite, nominally in [-1, 1])."""
        if not block.size:
            return
        peak = float(np.abs(block).max())
        if peak > self.peak:
            self.peak = peak
        if peak > _FLOAT32_SAFE_PEAK:
            block = block.astype(np.float64)
        self.sum_squares += float(np.dot(block, block))
        self.samples += block.size

    @property
    def peak_dbfs(self) -> float:
        return dbfs(self.peak)

    @property
    def rms_dbfs(self) -> float:
        if not self.samples:
            return FLOOR_DBFS
        return rms_dbfs(self.sum_squares / self.samples)
