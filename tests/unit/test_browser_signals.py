"""The browser tests' measurements tell a good downsampler from a bad one."""

import numpy as np
import pytest
import soundfile

from tests.browser.signals import (
    FILE_RATE,
    TAIL_SECONDS,
    align,
    measure,
    mic_signal,
    resample,
    tone_frequency,
    tone_level_db,
    write_wav,
)

RATE = 16384
MIC = mic_signal()
BUFFER = 441  # samples: one 10 ms buffer of Chromium's capture at 44100 Hz


def test_the_mic_file_is_16_bit_mono_at_44100_hz_and_ends_in_silence(tmp_path):
    write_wav(tmp_path / "mic.wav", MIC)
    samples, rate = soundfile.read(tmp_path / "mic.wav", dtype="int16")
    assert rate == FILE_RATE
    assert samples.ndim == 1
    assert len(samples) == len(MIC.in_band)
    assert not samples[-round(TAIL_SECONDS * FILE_RATE) :].any()
    assert np.abs(samples).max() < 32767  # no clipping


def test_align_finds_a_scaled_copy_that_lost_its_start():
    reference = resample(MIC.in_band, FILE_RATE, RATE)
    signal = np.concatenate([0.5 * reference[300:], np.zeros(1000)])
    alignment = align(signal, reference)
    assert alignment.lag == -300
    assert alignment.correlation == pytest.approx(1.0, abs=1e-9)
    assert alignment.gain == pytest.approx(0.5)


def test_align_refuses_a_signal_too_short_to_overlap():
    with pytest.raises(ValueError, match="no lag overlaps"):
        align(np.ones(10), np.ones(100))


@pytest.mark.parametrize("hz", [440.0, 440.3, 1234.56])
def test_tone_frequency_between_bins_is_within_a_hundredth_of_a_hertz(hz):
    t = np.arange(round(1.6 * RATE)) / RATE  # bins 0.625 Hz apart
    assert tone_frequency(np.sin(2 * np.pi * hz * t), RATE) == pytest.approx(
        hz, abs=0.01
    )


@pytest.mark.parametrize("hz", [4384.0, 4384.3])
def test_tone_level_between_bins_is_within_a_tenth_of_a_db(hz):
    t = np.arange(round(1.6 * RATE)) / RATE
    samples = 0.01 * np.sin(2 * np.pi * hz * t)  # -40 dBFS
    assert tone_level_db(samples, RATE, 4384.0) == pytest.approx(-40.0, abs=0.1)


def test_a_good_downsampler_that_lost_the_files_start_passes():
    measured = measure(resample(MIC.samples[5000:], FILE_RATE, RATE), RATE, MIC)
    assert measured.slip == 0
    assert measured.correlation > 0.98
    assert abs(measured.gain_db) < 0.2
    assert measured.tone_hz == pytest.approx(440.0, abs=0.01)
    assert measured.file_level_db == pytest.approx(-8.0, abs=0.05)  # 0.4 amplitude
    assert measured.alias_attenuation_db > 100


def test_a_downsampler_without_anti_alias_filter_fails_on_the_alias():
    positions = np.arange(0, len(MIC.samples) - 1, FILE_RATE / RATE)
    unfiltered = np.interp(positions, np.arange(len(MIC.samples)), MIC.samples)
    measured = measure(unfiltered, RATE, MIC)
    assert measured.alias_attenuation_db < 10
    assert measured.correlation < 0.9


def test_a_lost_capture_buffer_is_a_slip_and_the_rest_still_fits():
    cut = round(2.0 * FILE_RATE)  # in the tone
    samples = np.concatenate([MIC.samples[:cut], MIC.samples[cut + BUFFER :]])
    measured = measure(resample(samples, FILE_RATE, RATE), RATE, MIC)
    assert measured.slip == -round(BUFFER * RATE / FILE_RATE)  # -164
    assert measured.correlation > 0.98
    assert measured.tone_hz == pytest.approx(440.0, abs=1.0)
    assert measured.alias_attenuation_db > 60


def test_a_lost_frame_is_a_slip_of_a_frame():
    sent = resample(MIC.samples, FILE_RATE, RATE)
    cut = round(2.0 * RATE)
    measured = measure(np.concatenate([sent[:cut], sent[cut + 1024 :]]), RATE, MIC)
    assert measured.slip == -1024


def test_audio_that_misses_the_chirp_is_refused():
    late = resample(MIC.samples[round(1.0 * FILE_RATE) :], FILE_RATE, RATE)
    with pytest.raises(ValueError, match="are not in the audio"):
        measure(late, RATE, MIC)
