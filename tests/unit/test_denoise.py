"""denoise: RNNoise between two resamplers, its output exactly latency_samples late;
and the streams it runs on (echo.processors.streams)."""

import gc
import weakref

import numpy as np
import pytest
from scipy import signal

from echo.processors.denoise import RNNOISE_DELAY, Denoise
from echo.processors.smoothing import ramp_samples
from echo.processors.streams import Resampler, SampleFifo, lag_bound
from tests.speech import SPLITS, random_splits, speech, through_splits, white_noise

RATES = (8000, 16384, 44100, 48000)


def make(rate: int, **options) -> Denoise:
    return Denoise(rate, **{**Denoise.defaults(rate), **options})


def stream(processor, samples: np.ndarray, frame: int = 1024) -> np.ndarray:
    return np.concatenate(
        [
            processor.process(samples[start : start + frame])
            for start in range(0, len(samples), frame)
        ]
    )


def best_lag(heard: np.ndarray, sent: np.ndarray, most: int) -> int:
    """The delay from 0 to ``most`` samples at which ``heard`` best matches ``sent``."""
    correlation = signal.correlate(heard, sent, mode="full", method="fft")
    zero = len(sent) - 1
    return int(np.argmax(correlation[zero : zero + most + 1]))


def power(samples: np.ndarray) -> float:
    return float(np.mean(np.square(samples, dtype=np.float64)))


@pytest.mark.parametrize("rate", RATES)
def test_denoise_gives_the_same_samples_however_the_stream_is_framed(rate):
    voice = speech(rate, before=0.2, after=0.2)
    sent = voice.samples + white_noise(len(voice.samples), 0.02)
    whole = make(rate).process(sent)
    for split in SPLITS:
        sizes = random_splits(len(sent), **split)
        pieces = through_splits(make(rate).process, sent, sizes)
        assert np.abs(pieces - whole).max() <= 1e-6


@pytest.mark.parametrize("rate", (8000, 16384, 48000))
def test_the_output_matches_the_input_best_exactly_latency_samples_late(rate):
    voice = speech(rate, before=0.3, after=0.3)
    processor = make(rate)
    heard = stream(processor, voice.samples, frame=1000)
    lag = best_lag(heard, voice.samples, most=2 * processor.latency_samples)
    assert abs(lag - processor.latency_samples) <= rate / 1000  # 1 ms


def test_at_48000_hz_the_latency_is_a_frame_less_a_sample_and_rnnoises_20_ms():
    assert make(48000).latency_samples == 479 + RNNOISE_DELAY


@pytest.mark.parametrize("rate", RATES)
def test_at_mix_0_the_output_is_the_input_delayed_by_latency_samples_exactly(rate):
    sent = speech(rate, before=0.1, after=0.1).samples
    processor = make(rate, mix=0)
    heard = stream(processor, sent, frame=777)
    delayed = np.concatenate([np.zeros(processor.latency_samples, np.float32), sent])
    assert heard.tobytes() == delayed[: len(sent)].tobytes()


@pytest.mark.parametrize("rate", (16384, 48000))
def test_denoise_takes_white_noise_down_20_db_and_leaves_the_speech(rate):
    voice = speech(rate, before=1.0, after=0.2)
    noise = white_noise(len(voice.samples), 0.03)  # -30 dB RMS, speech peaks at -6
    processor = make(rate)
    heard = stream(processor, voice.samples + noise)[processor.latency_samples :]
    quiet = slice(round(0.3 * rate), voice.start)  # no one speaks; RNNoise settled
    assert 10 * np.log10(power(noise[quiet]) / power(heard[quiet])) >= 20
    spoken = slice(voice.start, voice.end)
    clean = voice.samples[spoken]
    assert 10 * np.log10(power(heard[spoken]) / power(clean)) == pytest.approx(0, abs=1)
    error_before = power(noise[spoken])
    error_after = power(heard[spoken] - clean)
    assert 10 * np.log10(error_before / error_after) >= 3  # signal to noise, in dB


@pytest.mark.parametrize("rate", (16384, 48000))
def test_silence_stays_silent(rate):
    heard = stream(make(rate), np.zeros(rate, np.float32), frame=512)
    assert np.abs(heard).max() <= 1e-6


def test_a_change_of_mix_ramps_from_denoised_to_dry_over_20_ms():
    rate = 16384
    voice = speech(rate, before=0.1, after=0.1)
    sent = voice.samples + white_noise(len(voice.samples), 0.02)
    wet = stream(make(rate), sent)
    change = voice.start + 5000
    processor = make(rate)
    first = stream(processor, sent[:change], frame=300)
    processor.configure({"mix": 0.0})
    heard = np.concatenate([first, stream(processor, sent[change:], frame=300)])
    dry = np.concatenate([np.zeros(processor.latency_samples, np.float32), sent])
    span = ramp_samples(rate)
    share = np.clip(np.arange(1, len(sent) - change + 1) / span, 0, 1)
    expected = wet[change:] + (dry[change : len(sent)] - wet[change:]) * share
    assert np.abs(heard[:change] - wet[:change]).max() == 0
    assert np.abs(heard[change:] - expected).max() <= 1e-6


def test_rnnoises_state_is_made_with_the_first_block_and_freed_with_the_processor():
    processor = make(16384)
    assert processor.state is None  # made on the event loop: no library, no state
    processor.process(np.zeros(1024, np.float32))
    assert processor.state
    release = processor.release
    collected = weakref.ref(processor)
    gc.disable()
    try:
        del processor
        assert collected() is None
        assert not release.alive  # rnnoise_destroy has run
    finally:
        gc.enable()


# The streams under denoise and vad.

PAIRS = [
    (16384, 48000),
    (48000, 16384),
    (8000, 48000),
    (48000, 8000),
    (44100, 16000),
    (12345, 16000),
]


@pytest.mark.parametrize(("from_rate", "to_rate"), PAIRS)
def test_the_resampler_gives_the_same_samples_however_its_input_is_split(
    from_rate, to_rate
):
    sent = white_noise(from_rate, 0.3, seed=4)
    whole = Resampler(from_rate, to_rate)(sent)
    for split in SPLITS:
        pieces = through_splits(
            Resampler(from_rate, to_rate), sent, random_splits(len(sent), **split)
        )
        assert pieces.tobytes() == whole.tobytes()


@pytest.mark.parametrize(("from_rate", "to_rate"), PAIRS)
def test_the_resampler_falls_behind_by_its_bursts_and_never_past_lag_bound(
    from_rate, to_rate
):
    """How many samples have come out depends on how many went in alone; fed one
    at a time, the output is hundreds behind at times, never past the bound."""
    one_by_one, given, behind = Resampler(from_rate, to_rate), 0, []
    sample = np.zeros(1, np.float32)
    for taken in range(1, from_rate + 1):  # 1 s
        given += len(one_by_one(sample))
        behind.append(taken * to_rate / from_rate - given)
    assert max(behind) > 20
    assert max(behind) <= lag_bound(from_rate, to_rate)
    split, given = Resampler(from_rate, to_rate), 0
    zeros = np.zeros(from_rate, np.float32)
    sizes = random_splits(from_rate, 3)
    for size, end in zip(sizes, np.cumsum(sizes), strict=True):
        given += len(split(zeros[:size]))
        assert end * to_rate / from_rate - given == behind[end - 1]


def test_the_fifo_hands_back_samples_oldest_first_after_its_silence():
    fifo = SampleFifo(silence=3, capacity=8)
    fifo.push(np.arange(1, 6, dtype=np.float32))
    assert fifo.take(4).tolist() == [0, 0, 0, 1]
    fifo.push(np.arange(6, 40, dtype=np.float32))  # past its capacity: it grows
    blocks = fifo.take_blocks(10)
    assert blocks.tolist() == [
        list(range(2, 12)),
        list(range(12, 22)),
        list(range(22, 32)),
    ]
    assert len(fifo) == 8
    with pytest.raises(ValueError, match="9 samples asked of a FIFO that holds 8"):
        fifo.take(9)
    assert fifo.take_blocks(10).shape == (0, 10)
    assert fifo.take(8).tolist() == list(range(32, 40))
