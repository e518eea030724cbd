"""The fake microphone's test signal, and what is measured on the audio sent.

Pure numpy and soxr, no browser: tests/unit/test_browser_signals.py checks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import soxr

FILE_RATE = 44100  # Hz: what Chromium's fake microphone delivers, whatever the file
# Silence first: the page starts capturing 20-320 ms after the device started
# playing the file (seen on two busy cores), and that part is never sent.
LEAD_SECONDS = 0.75
CHIRP_SECONDS = 0.3
CHIRP_HZ = (300.0, 4000.0)  # well inside the page's passband at 16384 Hz
GAP_SECONDS = 0.1  # silence between the chirp and the tones
TONE_SECONDS = 2.0
TONE_HZ = 440.0
OUT_OF_BAND_HZ = 12000.0  # over 8192 Hz: at 16384 Hz it would alias to 4384 Hz
TAIL_SECONDS = 1.0  # silence: after the file the device repeats its last buffer
CHIRP_AMPLITUDE = 0.5
TONE_AMPLITUDE = 0.4  # each tone: their sum stays under full scale
FADE_SECONDS = 0.01  # raised-cosine ends: no clicks to splatter over the spectrum
EDGE_SECONDS = 0.2  # cut from each end of a segment before measuring a tone in it
END_ANCHOR = (0.1, 0.2)  # seconds of tone before its end and silence after it
MIN_ANCHOR_CORRELATION = 0.5  # below it an anchor matched something else
QUIET = 1e-6  # of a signal's energy: an overlap with less is not compared
BLOCK = 1024  # samples: the unit the slip (see ``measure``) is placed in


@dataclass(frozen=True)
class MicSignal:
    """The fake microphone's content at FILE_RATE, as float64 in [-1, 1]."""

    in_band: np.ndarray  # chirp and 440 Hz tone: what the page should send
    out_of_band: np.ndarray  # the 12 kHz tone: what the page must filter out
    chirp_start: float  # seconds from the start of the file
    tone_start: float
    tone_end: float

    @property
    def samples(self) -> np.ndarray:
        return self.in_band + self.out_of_band

    @property
    def seconds(self) -> float:
        return len(self.in_band) / FILE_RATE


def mic_signal() -> MicSignal:
    """Silence, a chirp for alignment, 440 Hz + 12 kHz, then silence."""

    def times(seconds: float) -> np.ndarray:
        return np.arange(round(seconds * FILE_RATE)) / FILE_RATE

    t = times(CHIRP_SECONDS)
    low, high = CHIRP_HZ
    # Linear sweep: the phase is the integral of the instantaneous frequency.
    phase = 2 * np.pi * (low * t + (high - low) * t**2 / (2 * CHIRP_SECONDS))
    chirp = CHIRP_AMPLITUDE * np.sin(phase) * _fades(len(t))
    t = times(TONE_SECONDS)
    tone = TONE_AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t) * _fades(len(t))
    high_tone = TONE_AMPLITUDE * np.sin(2 * np.pi * OUT_OF_BAND_HZ * t) * _fades(len(t))

    lead = np.zeros(round(LEAD_SECONDS * FILE_RATE))
    gap = np.zeros(round(GAP_SECONDS * FILE_RATE))
    tail = np.zeros(round(TAIL_SECONDS * FILE_RATE))
    in_band = np.concatenate([lead, chirp, gap, tone, tail])
    start = len(lead) + len(chirp) + len(gap)
    out_of_band = np.zeros_like(in_band)
    out_of_band[start : start + len(tone)] = high_tone
    return MicSignal(
        in_band=in_band,
        out_of_band=out_of_band,
        chirp_start=len(lead) / FILE_RATE,
        tone_start=start / FILE_RATE,
        tone_end=(start + len(tone)) / FILE_RATE,
    )


def _fades(n: int) -> np.ndarray:
    ramp = round(FADE_SECONDS * FILE_RATE)
    rise = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    envelope = np.ones(n)
    envelope[:ramp] = rise
    envelope[n - ramp :] = rise[::-1]
    return envelope


def write_wav(path: Path, signal: MicSignal) -> None:
    """``signal`` as a 44100 Hz, 16-bit, mono WAV file."""
    soundfile.write(path, signal.samples, FILE_RATE, subtype="PCM_16")


def resample(samples: np.ndarray, from_rate: float, to_rate: float) -> np.ndarray:
    """``samples`` at ``to_rate``, by soxr's very high quality filter."""
    return soxr.resample(samples, from_rate, to_rate, quality="VHQ")


@dataclass(frozen=True)
class Alignment:
    """Where a reference sits in a signal: ``signal[i + lag] ~ gain * ref[i]``."""

    lag: int  # samples
    correlation: float  # normalized over the overlapping part, 1.0 = same shape
    gain: float  # least-squares gain of the reference over the overlap


def align(
    signal: np.ndarray, reference: np.ndarray, min_overlap: float = 0.5
) -> Alignment:
    """The lag with the highest normalized cross-correlation.

    Only lags where the two overlap by at least ``min_overlap`` of the reference,
    and where neither is silent there, count.
    """
    signal = np.asarray(signal, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    n, m = len(signal), len(reference)
    size = 1 << (n + m - 1).bit_length()
    spectrum = np.fft.rfft(signal, size) * np.conj(np.fft.rfft(reference, size))
    circular = np.fft.irfft(spectrum, size)
    lags = np.arange(-(m - 1), n)
    dot = circular[lags % size]  # sum_i signal[i + lag] * reference[i]
    # The overlap is reference[first:last], signal[first + lag:last + lag].
    first = np.maximum(0, -lags)
    last = np.minimum(m, n - lags)
    signal_energy = np.concatenate([[0.0], np.cumsum(signal**2)])
    reference_energy = np.concatenate([[0.0], np.cumsum(reference**2)])
    e_signal = signal_energy[last + lags] - signal_energy[first + lags]
    e_reference = reference_energy[last] - reference_energy[first]
    # Near-silent overlaps would divide rounding errors by almost nothing.
    audible = (e_signal > QUIET * signal_energy[-1]) & (
        e_reference > QUIET * reference_energy[-1]
    )
    valid = (last - first >= min_overlap * m) & audible
    if not valid.any():
        raise ValueError(
            f"no lag overlaps {min_overlap:.0%} of the reference ({m} samples) "
            f"with the signal ({n} samples)"
        )
    score = np.full(len(lags), -np.inf)
    score[valid] = dot[valid] / np.sqrt(e_signal[valid] * e_reference[valid])
    best = int(np.argmax(score))
    return Alignment(
        lag=int(lags[best]),
        correlation=float(score[best]),
        gain=float(dot[best] / e_reference[best]),
    )


def tone_frequency(samples: np.ndarray, rate: float) -> float:
    """The strongest frequency in Hz: Hann window, FFT peak, parabolic interpolation.

    The parabola goes through the log magnitudes of the peak bin and its
    neighbours, where a Hann main lobe is nearly a parabola.
    """
    magnitude = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    peak = int(np.argmax(magnitude[1:-1])) + 1
    left, centre, right = np.log(magnitude[peak - 1 : peak + 2] + 1e-300)
    offset = 0.5 * (left - right) / (left - 2 * centre + right)
    return (peak + offset) * rate / len(samples)


def tone_level_db(
    samples: np.ndarray, rate: float, hz: float, search_hz: float = 5.0
) -> float:
    """The peak amplitude near ``hz`` in dB re full scale (0 dB = amplitude 1.0).

    Hann window, zero-padded 8x so that a peak between bins reads under 0.05 dB
    low; the largest value within ``search_hz`` of ``hz`` counts, noise included.
    """
    window = np.hanning(len(samples))
    size = 8 * len(samples)
    spectrum = np.abs(np.fft.rfft(samples * window, size))
    amplitude = 2 * spectrum / window.sum()  # a sine of amplitude A reads A
    bins = np.fft.rfftfreq(size, 1 / rate)
    near = np.abs(bins - hz) <= search_hz
    return float(20 * np.log10(amplitude[near].max() + 1e-12))


def segment(samples: np.ndarray, rate: float, start: float, end: float) -> np.ndarray:
    """``samples[start:end]`` (seconds), less EDGE_SECONDS at each end."""
    first = round((start + EDGE_SECONDS) * rate)
    last = round((end - EDGE_SECONDS) * rate)
    if first < 0 or last > len(samples):
        raise ValueError(
            f"{start:.3f}-{end:.3f} s is not inside the {len(samples) / rate:.3f} s"
            " of audio"
        )
    return samples[first:last]


def anchor_lag(
    signal: np.ndarray, reference: np.ndarray, rate: float, start: float, end: float
) -> int:
    """The lag of ``reference[start:end]`` (seconds), found whole in ``signal``."""
    first, last = round(start * rate), round(end * rate)
    where = f"the file's {start:.2f}-{end:.2f} s"
    try:
        alignment = align(signal, reference[first:last], min_overlap=1.0)
    except ValueError:
        raise ValueError(f"{where} do not fit in {len(signal) / rate:.2f} s") from None
    if alignment.correlation < MIN_ANCHOR_CORRELATION:
        raise ValueError(
            f"{where} are not in the audio: the best match correlates "
            f"{alignment.correlation:.2f}"
        )
    return alignment.lag - first


@dataclass(frozen=True)
class Fit:
    """The reference at one lag up to a block, and at another from there on."""

    correlation: float  # over the chirp and tone, each block at its lag
    gain: float


def two_lag_fit(
    signal: np.ndarray,
    reference: np.ndarray,
    lags: tuple[int, int],
    first: int,
    last: int,
) -> Fit:
    """The best fit of ``reference[first:last]`` with one change of lag.

    Blocks before the change sit at ``lags[0]``, the rest at ``lags[1]``; with
    equal lags this is the plain normalized correlation at that lag.
    """
    starts = range(first, last, BLOCK)
    dots = np.zeros((2, len(starts)))
    signal_energies = np.zeros((2, len(starts)))
    reference_energies = np.zeros(len(starts))
    for j, start in enumerate(starts):
        ref = reference[start : min(start + BLOCK, last)]
        reference_energies[j] = ref @ ref
        for i, lag in enumerate(lags):
            part = signal[start + lag : start + lag + len(ref)]
            if start + lag < 0 or len(part) < len(ref):
                raise ValueError(f"block at {start} + lag {lag} is outside the signal")
            dots[i, j] = part @ ref
            signal_energies[i, j] = part @ part
    reference_energy = reference_energies.sum()
    fits = []
    for change in range(len(starts) + 1):
        dot = dots[0, :change].sum() + dots[1, change:].sum()
        energy = signal_energies[0, :change].sum() + signal_energies[1, change:].sum()
        fits.append(
            Fit(
                correlation=float(dot / np.sqrt(energy * reference_energy)),
                gain=float(dot / reference_energy),
            )
        )
    return max(fits, key=lambda fit: fit.correlation)


@dataclass(frozen=True)
class Measurements:
    """What the sent audio (at ``rate``) shows against the file."""

    lag: int  # samples at rate: where the file's start would be in the sent audio
    slip: int  # samples gained (+) or lost (-) between the chirp and the tone's end
    correlation: float
    gain_db: float
    tone_hz: float
    file_level_db: float  # the out-of-band tone in the file, dBFS
    alias_hz: float  # where the out-of-band tone folds to at rate
    alias_level_db: float  # what was sent there, dBFS

    @property
    def alias_attenuation_db(self) -> float:
        return self.file_level_db - self.alias_level_db

    def __str__(self) -> str:
        return (
            f"lag {self.lag} samples, slip {self.slip:+d}, correlation "
            f"{self.correlation:.4f}, gain {self.gain_db:+.2f} dB, tone "
            f"{self.tone_hz:.3f} Hz, {self.alias_hz:.0f} Hz at "
            f"{self.alias_level_db:.1f} dBFS ({self.alias_attenuation_db:.1f} dB "
            f"under the file's {OUT_OF_BAND_HZ:.0f} Hz at "
            f"{self.file_level_db:.1f} dBFS)"
        )


def measure(sent: np.ndarray, rate: int, mic: MicSignal) -> Measurements:
    """``sent`` (float, at ``rate``) against the file's in-band part, resampled.

    Two anchors place the file: the chirp, and the tone's end into silence. They
    differ (a slip) when audio was lost or repeated in between: Chromium's capture
    drops or repeats a 10 ms buffer now and then on a busy machine. Correlation and
    gain then come from the best fit with one change of lag; the tone and the
    out-of-band tone's alias are measured in the tone, placed by both anchors.
    """
    reference = resample(mic.in_band, FILE_RATE, rate)
    start = anchor_lag(sent, reference, rate, mic.chirp_start, mic.tone_start)
    before, after = END_ANCHOR
    end = anchor_lag(sent, reference, rate, mic.tone_end - before, mic.tone_end + after)
    fit = two_lag_fit(
        sent,
        reference,
        (start, end),
        round(mic.chirp_start * rate),
        round(mic.tone_end * rate),
    )
    tone = segment(sent, rate, mic.tone_start + start / rate, mic.tone_end + end / rate)
    file_tone = segment(mic.samples, FILE_RATE, mic.tone_start, mic.tone_end)
    alias_hz = abs(rate - OUT_OF_BAND_HZ)  # for rate / 2 < 12 kHz < rate
    return Measurements(
        lag=start,
        slip=end - start,
        correlation=fit.correlation,
        gain_db=float(20 * np.log10(abs(fit.gain))) if fit.gain else -np.inf,
        tone_hz=tone_frequency(tone, rate),
        file_level_db=tone_level_db(file_tone, FILE_RATE, OUT_OF_BAND_HZ),
        alias_hz=alias_hz,
        alias_level_db=tone_level_db(tone, rate, alias_hz),
    )
