"""vad: Silero VAD hears the speech of a known signal and not its silences, the same
for any framing; mode mute silences what is not speech."""

import gc
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from echo.processors import build_registry
from echo.processors.denoise import Denoise
from echo.processors.smoothing import ramp_samples
from echo.processors.vad import Vad, _threads, inference_session
from tests.conftest import frames
from tests.speech import SPLITS, random_splits, speech, through_splits, white_noise

RATES = (8000, 16000, 16384, 48000)
WINDOW_SECONDS = 0.032  # the model reads 512 samples at 16 kHz, 256 at 8 kHz
# Speaking begins within this of the first word (the first window that hears it),
# and ends within this of the last: 100 ms below the threshold, and the model's
# own tail.
ONSET_SECONDS = 0.15
OFFSET_SECONDS = 0.45


def make(rate: int, **options) -> Vad:
    return Vad(rate, **{**Vad.defaults(rate), **options})


def stream(processor, samples: np.ndarray, frame: int = 1024) -> np.ndarray:
    return np.concatenate(
        [processor.process(block) for block in frames(samples, frame)]
    )


def window_ends(reports: list[dict]) -> np.ndarray:
    """Where each report's window ends, in seconds: report k is window k."""
    return (np.arange(len(reports)) + 1) * WINDOW_SECONDS


@pytest.mark.parametrize("rate", RATES)
def test_vad_gives_the_same_reports_and_samples_however_the_stream_is_framed(rate):
    voice = speech(rate, before=0.5, after=0.5)
    sent = voice.samples + white_noise(len(voice.samples), 0.02)
    in_one = make(rate, mode="mute")
    whole, whole_reports = in_one.process(sent), in_one.take_reports()
    assert len(whole_reports) > 100
    for split in SPLITS:
        processor = make(rate, mode="mute")
        sizes = random_splits(len(sent), **split)
        pieces = through_splits(processor.process, sent, sizes)
        assert np.abs(pieces - whole).max() <= 1e-6
        assert processor.take_reports() == whole_reports


@pytest.mark.parametrize("noise", [0.0, 0.02])
@pytest.mark.parametrize("rate", RATES)
def test_vad_hears_someone_speaking_over_the_speech_and_no_one_in_the_silences(
    rate, noise
):
    voice = speech(rate, before=1.0, after=1.0)
    sent = voice.samples + white_noise(len(voice.samples), noise)  # -34 dB RMS
    processor = make(rate)
    stream(processor, sent)
    reports = processor.take_reports()
    ends, speaking = window_ends(reports), [r["speaking"] for r in reports]
    start, end = voice.seconds(voice.start), voice.seconds(voice.end)
    assert ends[-1] > end + OFFSET_SECONDS
    for at, heard in zip(ends, speaking, strict=True):
        if at <= start or at > end + OFFSET_SECONDS:
            assert not heard, at
        elif start + ONSET_SECONDS <= at <= end:
            assert heard, at


def test_speaking_starts_at_the_threshold_and_stops_after_100_ms_below_it():
    """The reports against the rule, read from their own speech values."""
    rate, threshold = 16000, 0.7
    voice = speech(rate, before=0.5, after=0.5)
    sent = voice.samples + white_noise(len(voice.samples), 0.03)
    processor = make(rate, threshold=threshold)
    stream(processor, sent)
    speaking, below = False, 0
    for report in processor.take_reports():
        if report["speech"] >= threshold:
            speaking, below = True, 0
        elif report["speech"] < threshold - 0.15:
            below += 1
            speaking = speaking and below < 4  # 4 windows: 128 ms, the first >= 100
        else:
            below = 0
        assert report["speaking"] == speaking, report


@pytest.mark.parametrize("rate", (16000, 48000))
def test_mute_silences_what_is_not_speech_and_passes_the_speech(rate):
    voice = speech(rate, before=1.0, after=1.0)
    sent = voice.samples + white_noise(len(voice.samples), 0.02)
    heard = stream(make(rate, mode="mute"), sent, frame=500)
    assert not heard[: voice.start].any()
    after = voice.end + round(OFFSET_SECONDS * rate)
    assert not heard[after:].any()
    inside = slice(voice.start + round(ONSET_SECONDS * rate), voice.end)
    assert heard[inside].tobytes() == sent[inside].tobytes()


def test_mute_opens_with_a_10_ms_fade_once_speaking_is_due():
    rate = 16000
    voice = speech(rate, before=0.5, after=0.5)
    sent = voice.samples + 0.1  # an offset: the gain is plain to read
    heard = stream(make(rate, mode="mute"), sent, frame=160)
    opens = int(np.flatnonzero(heard)[0])
    fade = round(0.010 * rate)
    gains = heard[opens : opens + fade + 10] / sent[opens : opens + fade + 10]
    expected = np.minimum(np.arange(1, fade + 11) / fade, 1.0)
    assert np.abs(gains - expected).max() <= 1e-6
    assert voice.start < opens < voice.start + round(ONSET_SECONDS * rate)


def test_report_mode_hands_back_the_very_block_it_got():
    processor = make(16384)
    block = np.full(1024, 0.25, np.float32)
    block.setflags(write=False)  # as the server's view of the received bytes
    assert processor.process(block) is block


def test_a_change_to_mute_fades_the_sound_out_over_20_ms():
    rate = 16000
    sent = white_noise(rate, 0.1)  # no speech: the gate stays shut
    processor = make(rate)
    first = stream(processor, sent[:8000])
    processor.configure({"mode": "mute"})
    second = stream(processor, sent[8000:], frame=100)
    assert first.tobytes() == sent[:8000].tobytes()
    span = ramp_samples(rate)
    kept = 1.0 - np.arange(1, span + 1) / span
    assert np.abs(second[:span] - sent[8000 : 8000 + span] * kept).max() <= 1e-6
    assert not second[span:].any()


def test_a_stream_may_move_from_thread_to_thread_each_with_its_own_session():
    rate = 16384
    voice = speech(rate, before=0.3, after=0.3)
    alone = make(rate, mode="mute")
    heard_alone = stream(alone, voice.samples)
    moving = make(rate, mode="mute")
    sessions = set()

    def process(block):
        sessions.add(id(inference_session()))
        return moving.process(block)

    with ThreadPoolExecutor(1) as one, ThreadPoolExecutor(1) as other:
        heard = [
            (one, other)[index % 2].submit(process, block).result()
            for index, block in enumerate(frames(voice.samples, 1024))
        ]
    assert np.concatenate(heard).tobytes() == heard_alone.tobytes()
    assert moving.take_reports() == alone.take_reports()
    assert len(sessions) == 2


def test_making_a_vad_loads_no_model_its_first_block_does():
    """Sessions are made on the event loop; the model loads on the processing
    thread that runs the first window."""
    seen = {}

    def in_a_new_thread():
        processor = make(16384)
        seen["made"] = dict(vars(_threads))
        processor.process(np.zeros(2048, np.float32))
        seen["ran"] = dict(vars(_threads))

    thread = threading.Thread(target=in_a_new_thread)
    thread.start()
    thread.join()
    assert seen["made"] == {}
    assert set(seen["ran"]) == {"session"}


@pytest.mark.parametrize("rate", (16000, 48000))
def test_vad_is_freed_when_its_session_ends_without_the_cycle_collector(rate):
    processor = make(rate)
    processor.process(np.zeros(4096, np.float32))
    collected = weakref.ref(processor)
    gc.disable()
    try:
        del processor
        assert collected() is None
    finally:
        gc.enable()


def test_the_voice_processors_are_heavy_with_a_cost_by_rate_and_not_identities():
    registry = build_registry([Denoise, Vad])
    for cls in registry.values():
        assert cls.heavy and not cls.identity and cls.category == "voice"
        assert set(cls.cost_per_second) == {8000, 16000, 48000}
        low, high = cls.cost(16000), cls.cost(48000)
        assert min(low, high) <= cls.cost(16384) <= max(low, high)
    assert Vad.schema()["reports"] == ["speech", "speaking"]
    assert make(16384).latency_samples == 0
