"""The built-in processors do what their names promise, on synthetic signals."""

import gc
import weakref

import numpy as np
import pytest
from scipy import signal

from echo.processors import PROCESSORS, Chain
from echo.processors.decibels import dbfs
from echo.processors.filters import butterworth
from echo.processors.smoothing import MAX_FADES, ramp_samples

RATES = (16384, 48000)


def make(name: str, rate: int, **options):
    """A processor as a session would get it, options given as query text."""
    texts = {name: {key: str(value).lower() for key, value in options.items()}}
    return Chain.build(PROCESSORS, [name], texts, rate).stages[0]


def tone(hz: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def peak_db(samples: np.ndarray) -> float:
    return dbfs(float(np.abs(samples).max()))


def rms_db(samples: np.ndarray) -> float:
    """Unlike a sampled peak, exact near half the rate, whatever the phase."""
    return dbfs(float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))))


def stream(processor, samples: np.ndarray, frame: int = 1024) -> np.ndarray:
    return np.concatenate(
        [
            processor.process(samples[start : start + frame])
            for start in range(0, len(samples), frame)
        ]
    )


@pytest.mark.parametrize("db", [-60, -6, -0.5, 6, 24])
def test_gain_changes_the_level_by_its_decibels(db):
    sent = tone(440, 16384, 0.5, amplitude=0.01)
    back = stream(make("gain", 16384, db=db), sent)
    assert peak_db(back) - peak_db(sent) == pytest.approx(db, abs=0.01)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    ("name", "cutoff", "order"), [("highpass", 300, 4), ("lowpass", 2000, 2)]
)
def test_filters_follow_the_butterworth_design_within_half_a_db(
    rate, name, cutoff, order
):
    sos = butterworth(name, order, cutoff, rate)
    for hz in (cutoff / 4, cutoff / 2, cutoff, cutoff * 2, cutoff * 4):
        processor = make(name, rate, cutoff_hz=cutoff, order=order)
        back = stream(processor, tone(hz, rate, 1.0))
        settled = back[rate // 2 :]  # the filter's start-up has died away
        _, response = signal.sosfreqz(sos, worN=[hz], fs=rate)
        designed = 20 * np.log10(abs(response[0]))
        assert rms_db(settled) - rms_db(tone(hz, rate, 1.0)) == pytest.approx(
            designed, abs=0.5
        ), hz


def test_a_cutoff_above_the_sessions_bound_defaults_to_the_bound():
    assert make("lowpass", 8000).values["cutoff_hz"] == pytest.approx(3600)
    assert make("lowpass", 16384).values["cutoff_hz"] == 4000


@pytest.mark.parametrize("rate", RATES)
def test_delay_repeats_an_impulse_after_its_delay_each_time_quieter(rate):
    impulse = np.zeros(rate, dtype=np.float32)
    impulse[100] = 1.0
    processor = make("delay", rate, delay_ms=125, feedback=0.5, mix=0.25)
    back = stream(processor, impulse, frame=333)
    delay = round(0.125 * rate)
    repeats = range(100 + delay, rate, delay)
    assert back[100] == pytest.approx(0.75)  # the dry share
    for count, at in enumerate(repeats):
        assert back[at] == pytest.approx(0.25 * 0.5**count)
    assert np.abs(np.delete(back, [100, *repeats])).max() == 0.0


@pytest.mark.parametrize("rate", RATES)
def test_robot_is_the_ring_modulation_formula_from_the_first_sample(rate):
    sent = np.random.default_rng(3).uniform(-1, 1, 3 * rate + 17).astype(np.float32)
    back = stream(make("robot", rate, hz=73.5), sent, frame=1000)
    n = np.arange(len(sent))
    expected = sent * np.sin(2 * np.pi * 73.5 * n / rate)
    assert np.abs(back - expected).max() < 1e-6


@pytest.mark.parametrize("frame", [64, 4096])
@pytest.mark.parametrize("rate", RATES)
def test_analysis_finds_a_tones_frequency_and_level(rate, frame):
    processor = make("analysis", rate)
    sent = tone(440, rate, 1.0, amplitude=0.25)
    back = stream(processor, sent, frame=frame)
    assert back.tobytes() == sent.tobytes()  # an identity
    reports = processor.take_reports()
    assert len(reports) == len(sent) // 1024
    for report in reports[2:]:  # the window is full of the tone from here on
        assert report["dominant_hz"] == pytest.approx(440, abs=1)
        assert report["peak_dbfs"] == pytest.approx(-12.04, abs=0.1)
        assert report["rms_dbfs"] == pytest.approx(-12.04, abs=0.1)


def test_analysis_band_levels_hold_the_power_of_the_band_the_tone_is_in():
    processor = make("analysis", 16384, bands=8, window=4096, hop=4096)
    stream(processor, tone(1000, 16384, 1.0, amplitude=0.5))
    report = processor.take_reports()[-1]
    edges = processor.announce()["band_edges_hz"]
    band = next(i for i in range(8) if edges[i] <= 1000 < edges[i + 1])
    assert report["bands"][band] == pytest.approx(-6.02, abs=0.1)
    others = [level for i, level in enumerate(report["bands"]) if i != band]
    assert max(others) < -40


def test_analysis_reports_every_hop_samples_whatever_the_framing():
    rate = 16384
    sent = tone(440, rate, 0.5)
    by_frame = make("analysis", rate, hop=300, window=512)
    by_sample = make("analysis", rate, hop=300, window=512)
    stream(by_frame, sent, frame=1024)
    stream(by_sample, sent, frame=1)
    assert by_frame.take_reports() == by_sample.take_reports()


# Options that keep every processor busy: short delays, strong compression.
BUSY_OPTIONS = {
    "delay": {"delay_ms": 3, "feedback": 0.9, "mix": 0.7},
    "compressor": {"threshold_db": -40, "attack_ms": 0.5},
    "limiter": {"threshold_db": -12},
    "highpass": {"order": 8, "cutoff_hz": 50},
    "analysis": {"window": 256, "hop": 256, "bands": 16},
}


def random_splits(total: int, longest: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    sizes = list(rng.integers(1, longest + 1, size=total))
    sizes[:40] = [1] * 40  # 1-sample frames first: pedalboard must not re-prepare
    splits, used = [], 0
    for size in sizes:
        size = min(int(size), total - used)
        if size == 0:
            break
        splits.append(size)
        used += size
    return splits


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("name", list(PROCESSORS))
def test_every_builtin_gives_the_same_samples_however_the_stream_is_framed(name, rate):
    rng = np.random.default_rng(11)
    sent = (0.3 * rng.standard_normal(rate) + tone(220, rate, 1.0)).astype(np.float32)
    options = BUSY_OPTIONS.get(name, {})
    in_one = make(name, rate, **options)
    whole, whole_reports = in_one.process(sent), in_one.take_reports()
    for seed in (1, 2):
        processor = make(name, rate, **options)
        pieces, start = [], 0
        for size in random_splits(len(sent), rate, seed):
            pieces.append(processor.process(sent[start : start + size]))
            start += size
        assert np.abs(np.concatenate(pieces) - whole).max() <= 1e-6
        assert processor.take_reports() == whole_reports


# From a setting to one far from it, for every processor that has options.
CHANGES = {
    "gain": ({"db": -20}, {"db": 6}),
    "highpass": ({"cutoff_hz": 40}, {"cutoff_hz": 2000, "order": 8}),
    "lowpass": ({"cutoff_hz": 6000}, {"cutoff_hz": 300, "order": 1}),
    "compressor": ({"threshold_db": -40, "ratio": 20}, {"threshold_db": 0}),
    "limiter": ({"threshold_db": -20}, {"threshold_db": 0}),
    "delay": ({"delay_ms": 20}, {"delay_ms": 900, "feedback": 0, "mix": 1}),
    "reverb": ({"wet": 0, "dry": 1}, {"wet": 1, "dry": 0, "room_size": 1}),
    "robot": ({"hz": 30}, {"hz": 1500}),
    "denoise": ({"mix": 0}, {"mix": 1}),
    "vad": ({"mode": "report"}, {"mode": "mute", "threshold": 0.9}),
    "analysis": ({"window": 256}, {"window": 16384, "hop": 300}),
}


def largest_jump(samples: np.ndarray) -> float:
    return float(np.abs(np.diff(samples.astype(np.float64))).max())


def test_every_processor_with_options_has_a_change_to_try():
    with_options = {name for name, cls in PROCESSORS.items() if cls.options}
    assert with_options == set(CHANGES)


@pytest.mark.parametrize("frame", [1, 1024])
@pytest.mark.parametrize("name", list(CHANGES))
def test_a_change_of_setting_jumps_no_more_than_the_sound_itself(name, frame):
    """Across a configure, the output moves from sample to sample no more than it
    does before and after, where each setting runs steadily."""
    rate = 16384
    before, after = CHANGES[name]
    processor = make(name, rate, **before)
    sent = tone(200, rate, 1.5, amplitude=0.8)
    change = round(100.25 * rate / 200)  # at a peak of the tone, mid-frame
    first = stream(processor, sent[:change], frame=frame)
    configured = {**processor.values, **after}
    processor.configure({key: configured[key] for key in after})
    second = stream(processor, sent[change:], frame=frame)
    back = np.concatenate([first, second])
    span = ramp_samples(rate)
    steady_before = back[change - rate // 4 : change]
    steady_after = back[change + 8 * span : change + 8 * span + rate // 4]
    across = back[change - 1 : change + 2 * span]
    allowed = max(largest_jump(steady_before), largest_jump(steady_after))
    assert largest_jump(across) <= 1.1 * allowed + 1e-6


@pytest.mark.parametrize("name", list(PROCESSORS))
def test_a_processor_is_freed_when_its_session_ends_without_the_cycle_collector(name):
    """No reference cycles: a session's buffers go when it does, not at the next
    full collection (which would pause every session of the process)."""
    chain = Chain.build(PROCESSORS, [name], {}, 48000)
    chain.process(np.zeros(1024, dtype=np.float32))
    if CHANGES.get(name):
        chain.configure(name, CHANGES[name][1])
        chain.process(np.zeros(1024, dtype=np.float32))
    stage = weakref.ref(chain.stages[0])
    gc.disable()
    try:
        del chain
        assert stage() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("name", ["highpass", "compressor", "delay", "robot"])
def test_changes_a_sample_apart_keep_the_work_per_block_bounded(name):
    """A client may send a change between every two 1-sample frames: the fades
    under way stay few, so neither the stack nor the cost per block grows."""
    rate = 16384
    processor = make(name, rate)
    before, after = CHANGES[name]
    for index in range(2000):
        processor.configure(before if index % 2 else after)
        assert np.isfinite(processor.process(np.full(1, 0.5, dtype=np.float32))).all()
    fader = getattr(processor, "filter", None) or getattr(processor, "plugin", None)
    fader = fader or getattr(processor, "wet", None) or processor.modulator
    depth, node = 0, fader.old
    while node is not None and hasattr(node, "old"):
        depth, node = depth + 1, node.old
    assert depth <= MAX_FADES <= 8
