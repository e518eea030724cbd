"""Files in and out of the client: mixed to mono, resampled properly, and written
with exactly the samples that were on the wire."""

import numpy as np
import pytest
import soundfile

from wsaudio_client.audio import check_writable, read_mono, write_wire_samples
from wsaudio_client.wire import encode_frame

from ..conftest import sine


def level_at(samples: np.ndarray, rate: int, hz: float) -> float:
    """Amplitude of the component at ``hz`` (a windowed DFT bin)."""
    window = np.hanning(len(samples))
    t = np.arange(len(samples)) / rate
    return (
        2
        * abs(np.sum(samples * window * np.exp(-2j * np.pi * hz * t)))
        / (window.sum())
    )


def test_a_mono_file_at_the_session_rate_is_read_sample_for_sample(tmp_path):
    samples = sine(16384, 0.5, 300)
    soundfile.write(tmp_path / "in.wav", samples, 16384, subtype="FLOAT")
    source = read_mono(tmp_path / "in.wav", 16384)
    assert np.array_equal(source.samples, samples)
    assert (source.file_rate, source.file_channels) == (16384, 1)


def test_a_stereo_file_is_mixed_to_mono_and_resampled_keeping_pitch_and_level(
    tmp_path,
):
    left, right = sine(44100, 1.0, 440, 0.4), sine(44100, 1.0, 440, 0.2)
    soundfile.write(tmp_path / "in.flac", np.stack([left, right], axis=1), 44100)
    source = read_mono(tmp_path / "in.flac", 16384)
    assert (source.file_rate, source.file_channels) == (44100, 2)
    assert len(source.samples) == 16384
    assert source.samples.dtype == np.float32
    middle = source.samples[2048:-2048]  # away from the resampler's edges
    assert level_at(middle, 16384, 440) == pytest.approx(0.3, abs=0.002)
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle))))
    peak_hz = np.argmax(spectrum) * 16384 / len(middle)
    assert peak_hz == pytest.approx(440, abs=2)


def test_a_tone_above_the_new_nyquist_does_not_alias_into_the_output(tmp_path):
    # 12 kHz at 48 kHz would fold to 4384 Hz at 16384 Hz without a proper filter.
    soundfile.write(tmp_path / "in.wav", sine(48000, 1.0, 12000, 0.5), 48000)
    samples = read_mono(tmp_path / "in.wav", 16384).samples[2048:-2048]
    assert level_at(samples, 16384, 16384 - 12000) < 0.5 * 10 ** (-60 / 20)


@pytest.mark.parametrize(("format", "dtype"), [("f32", "float32"), ("s16", "int16")])
def test_replies_are_written_with_exactly_the_samples_on_the_wire(
    tmp_path, format, dtype
):
    pcm = encode_frame(sine(16384, 0.25, 1000, 0.9), format)
    write_wire_samples(tmp_path / "out.wav", pcm, 16384, format)
    written, rate = soundfile.read(tmp_path / "out.wav", dtype=dtype)
    assert rate == 16384
    assert written.tobytes() == pcm


def test_a_file_that_cannot_be_read_says_so(tmp_path):
    (tmp_path / "noise.wav").write_bytes(b"not audio" * 10)
    with pytest.raises(ValueError, match="Format not recognised"):
        read_mono(tmp_path / "noise.wav", 16384)
    with pytest.raises(ValueError, match="missing.wav"):
        read_mono(tmp_path / "missing.wav", 16384)


def test_an_output_that_could_not_be_written_is_refused_up_front(tmp_path):
    check_writable(tmp_path / "out.wav")
    check_writable(tmp_path / "out.FLAC")
    with pytest.raises(ValueError, match="suffix"):
        check_writable(tmp_path / "out.mp4")
    with pytest.raises(ValueError, match="not a directory"):
        check_writable(tmp_path / "nowhere" / "out.wav")
