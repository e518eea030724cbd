"""Levels in dBFS by the AES17 convention: a full-scale sine reads 0 dBFS."""

import math

import numpy as np
import pytest

from echo.sessions.levels import FLOOR_DBFS, LevelMeter, dbfs
from tests.conftest import frames, sine


def measured(*blocks: np.ndarray) -> LevelMeter:
    meter = LevelMeter()
    for block in blocks:
        meter.measure(block)
    return meter


def test_a_full_scale_sine_reads_0_dbfs_peak_and_rms():
    # 1000 Hz at 48 kHz: 48 samples per period, so the peak sample is exactly 1.0.
    meter = measured(sine(48000, 1.0, 1000, amplitude=1.0))
    assert meter.peak_dbfs == pytest.approx(0.0, abs=1e-6)
    assert meter.rms_dbfs == pytest.approx(0.0, abs=1e-4)


def test_a_sine_at_a_tenth_of_full_scale_reads_minus_20_dbfs():
    meter = measured(sine(48000, 1.0, 1000, amplitude=0.1))
    assert meter.peak_dbfs == pytest.approx(-20.0, abs=1e-4)
    assert meter.rms_dbfs == pytest.approx(-20.0, abs=1e-4)


def test_a_full_scale_square_wave_reads_plus_3_dbfs_rms():
    square = np.where(np.arange(4800) % 48 < 24, 1.0, -1.0).astype(np.float32)
    meter = measured(square)
    assert meter.peak_dbfs == 0.0
    assert meter.rms_dbfs == pytest.approx(20 * math.log10(math.sqrt(2)))  # 3.0103


def test_silence_and_no_audio_read_the_floor():
    assert measured().peak_dbfs == measured().rms_dbfs == FLOOR_DBFS
    silent = measured(np.zeros(1024, np.float32))
    assert silent.peak_dbfs == silent.rms_dbfs == FLOOR_DBFS
    assert dbfs(1e-9) == FLOOR_DBFS  # -180 dB is below the floor


def test_levels_do_not_depend_on_how_the_audio_was_framed():
    audio = sine(16384, 2.0, 440, amplitude=0.3) * np.linspace(0, 1, 32768, "f4")
    whole = measured(audio)
    framed = measured(*frames(audio, 1000))
    assert framed.peak == whole.peak
    assert framed.rms_dbfs == pytest.approx(whole.rms_dbfs, abs=1e-6)


def test_the_mean_power_covers_the_whole_session():
    loud, quiet = sine(16000, 1.0, 500, 0.5), np.zeros(16000, np.float32)
    meter = measured(loud, quiet)  # half the session silent: -3.01 dB of power
    assert meter.rms_dbfs == pytest.approx(dbfs(0.5) - 10 * math.log10(2), abs=1e-4)
    assert meter.peak_dbfs == pytest.approx(dbfs(0.5), abs=1e-4)


def test_absurd_but_finite_samples_are_measured_without_overflow():
    block = np.full(16384, 3e38, np.float32)  # near float32's largest value
    with np.errstate(all="raise"):
        meter = measured(block)
    assert meter.peak_dbfs == pytest.approx(20 * math.log10(3e38), rel=1e-6)
    assert meter.rms_dbfs == pytest.approx(20 * math.log10(math.sqrt(2) * 3e38))
