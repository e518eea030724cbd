"""Denoise: RNNoise on the voice, at 48 kHz, the session's rate resampled to it and
back.

RNNoise is pyrnnoise's librnnoise.so, loaded alone through ctypes: importing the
pyrnnoise package would import PyAV and matplotlib. ctypes releases the GIL for the
length of each call, so sessions denoise side by side on the processing threads.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import math
import os
import weakref

import numpy as np

from .base import Processor
from .options import Option
from .smoothing import Ramp
from .streams import Resampler, SampleFifo, lag_bound

RNNOISE_RATE = 48000
RNNOISE_FRAME = 480  # samples: 10 ms at 48 kHz
# RNNoise's output is its input 960 samples late (20 ms at 48 kHz): measured by
# cross-correlating speech in and out, which peaks there to the sample.
RNNOISE_DELAY = 960
INT16_SCALE = 32768.0  # RNNoise takes and gives samples in the int16 range


@functools.cache
def rnnoise() -> ctypes.CDLL:
    """The library, loaded once per process at the first denoise block (5 ms)."""
    spec = importlib.util.find_spec("pyrnnoise")  # finds, does not import
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("denoise needs pyrnnoise (requirements.txt)")
    folder = spec.submodule_search_locations[0]
    library = ctypes.CDLL(os.path.join(folder, "librnnoise.so"))
    frame = np.ctypeslib.ndpointer(np.float32, 1, (RNNOISE_FRAME,), "C_CONTIGUOUS")
    out = np.ctypeslib.ndpointer(
        np.float32, 1, (RNNOISE_FRAME,), ("C_CONTIGUOUS", "WRITEABLE")
    )
    library.rnnoise_create.argtypes = [ctypes.c_void_p]  # a model: NULL, the built-in
    library.rnnoise_create.restype = ctypes.c_void_p
    library.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    library.rnnoise_destroy.restype = None
    library.rnnoise_get_frame_size.argtypes = []
    library.rnnoise_get_frame_size.restype = ctypes.c_int
    library.rnnoise_process_frame.argtypes = [ctypes.c_void_p, out, frame]
    library.rnnoise_process_frame.restype = ctypes.c_float  # its speech probability
    if library.rnnoise_get_frame_size() != RNNOISE_FRAME:
        raise ImportError(f"this librnnoise.so does not take {RNNOISE_FRAME} samples")
    return library


@functools.cache
def samples_ahead(rate: int) -> int:
    """Session samples of silence the output starts with, so that it never waits
    for the resamplers' bursts or for a whole RNNoise frame, however the input is
    split (echo.processors.streams)."""
    if rate == RNNOISE_RATE:
        return RNNOISE_FRAME - 1
    ratio = RNNOISE_RATE / rate
    up, down = lag_bound(rate, RNNOISE_RATE), lag_bound(RNNOISE_RATE, rate)
    return math.ceil((up + RNNOISE_FRAME - 1) / ratio + down)


class Denoise(Processor):
    """RNNoise, its output ``latency_samples`` late; out = mix * denoised +
    (1 - mix) * dry, the dry path delayed alike (to the nearest sample) so that
    the two line up. RNNoise runs whatever the mix, so a new mix finds it settled.

    The latency is the silence the output starts with (samples_ahead) plus
    RNNoise's own 20 ms; the resamplers add none, soxr's output being aligned
    with its input. RNNoise frames sit at fixed places of the 48 kHz stream, so
    any framing of the session gives the same samples.
    """

    name = "denoise"
    description = (
        "removes background noise from a voice (RNNoise); the output is "
        "latency_samples late"
    )
    category = "voice"
    heavy = True
    # CPU-seconds per second of audio of a session, the hand-over to a processing
    # thread included, rounded up (bench/processor_cost.py measures them).
    cost_per_second = {8000: 0.06, 16000: 0.061, 48000: 0.067}
    options = (
        Option.number(
            "mix",
            1,
            min=0,
            max=1,
            description="share of the denoised sound in the output: 0 dry, 1 denoised",
        ),
    )

    def __init__(self, rate: int, *, mix: float) -> None:
        super().__init__(rate, mix=mix)
        ahead = samples_ahead(rate)
        self.latency_samples = ahead + round(RNNOISE_DELAY * rate / RNNOISE_RATE)
        self.mix = Ramp(mix, rate)
        resampled = rate != RNNOISE_RATE
        self.up = Resampler(rate, RNNOISE_RATE) if resampled else None
        self.down = Resampler(RNNOISE_RATE, rate) if resampled else None
        self.frames = SampleFifo()  # at 48 kHz, until RNNoise has a whole frame
        self.wet = SampleFifo(silence=ahead)
        self.dry = SampleFifo(silence=self.latency_samples)
        self.state: int | None = None  # RNNoise's, made with its first frame
        self.release: weakref.finalize | None = None  # frees it with the processor

    def process(self, block: np.ndarray) -> np.ndarray:
        count = len(block)
        self.dry.push(block)
        self.frames.push(block if self.up is None else self.up(block))
        frames = self.frames.take_blocks(RNNOISE_FRAME)
        if len(frames):
            denoised = self._denoise(frames)
            self.wet.push(denoised if self.down is None else self.down(denoised))
        wet, dry = self.wet.take(count), self.dry.take(count)
        mix = self.mix.next(count)
        if not isinstance(mix, np.ndarray) and mix == 1.0:
            return wet
        return (dry + (wet - dry) * mix).astype(np.float32)

    def _denoise(self, frames: np.ndarray) -> np.ndarray:
        """Rows of RNNOISE_FRAME samples at 48 kHz, denoised, end to end."""
        library = rnnoise()
        if self.state is None:
            self.state = library.rnnoise_create(None)
            if not self.state:
                raise MemoryError("rnnoise_create failed")
            # Holds the state's address, not the processor: no reference cycle.
            self.release = weakref.finalize(self, library.rnnoise_destroy, self.state)
        scaled = frames * np.float32(INT16_SCALE)
        denoised = np.empty_like(scaled)
        for frame, out in zip(scaled, denoised, strict=True):
            library.rnnoise_process_frame(self.state, out, frame)
        denoised *= np.float32(1.0 / INT16_SCALE)
        return denoised.reshape(-1)

    def configure(self, changes) -> None:
        self.values.update(changes)
        self.mix.set(self.values["mix"])
