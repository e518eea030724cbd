"""Levels in decibels, the one convention of the server's meters and analysis.

A full-scale sine reads 0 dBFS for both peak and RMS (AES17), so RMS dBFS is
20·log10(√2·rms); silence reads the floor, FLOOR_DBFS.
"""

from __future__ import annotations

import math

FLOOR_DBFS = -120.0
SINE_CREST = math.sqrt(2.0)  # peak / RMS of a sine: AES17 lifts RMS by this


def dbfs(amplitude: float) -> float:
    """``amplitude`` (1.0 = full scale) in dB, never below FLOOR_DBFS."""
    if amplitude <= 0.0:
        return FLOOR_DBFS
    return max(FLOOR_DBFS, 20.0 * math.log10(amplitude))


def rms_dbfs(mean_square: float) -> float:
    """RMS level in dBFS (AES17) of a signal with this mean square."""
    return dbfs(SINE_CREST * math.sqrt(mean_square))


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)
