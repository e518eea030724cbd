"""Measure what one audio frame costs on the hot path, and the Channels hop beside it.

Run from the project root: ``.venv/bin/python bench/frame_cost.py [--write]``.
With ``--write`` the run regenerates docs/frame-cost.md, which this script owns.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# bench/, echo/ and wsaudio_site/ live at the project root, one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import describe_environment, markdown_table, page_header
from echo import protocol
from echo.protocol import SampleFormat, ServerConfig
from echo.sessions.levels import LevelMeter
from echo.sessions.session import AudioSession
from echo.sessions.stats import DurationHistogram

ROOT = Path(__file__).resolve().parent.parent
DOC_PATH = ROOT / "docs" / "frame-cost.md"

RATE = 16384
FRAME_SAMPLES = 1024  # 1024 samples at 16384 Hz = 62.5 ms
FRAME_MS = 1000 * FRAME_SAMPLES / RATE
DISTINCT_FRAMES = 16  # one second of audio, cycled, so inputs are not one buffer
TONE_HZ = 440.0
TONE_AMPLITUDE = 0.5  # half of full scale
NOISE_AMPLITUDE = 0.01  # about -40 dB below full scale
# Processing times handed to the histogram: spread over the buckets a frame's
# decode, process and encode usually lands in.
HISTOGRAM_NS = tuple(round(ns) for ns in np.geomspace(2_000, 50_000, DISTINCT_FRAMES))

BATCHES = 100  # operations take turns batch by batch, so noise hits all alike
CALLS_PER_BATCH = 1000
HOP_CALLS_PER_BATCH = 200  # fewer: one hop takes far longer than a frame
# Limits so wide that every frame passes: the checks run, none refuses.
UNLIMITED = ServerConfig(
    max_messages_per_second=10**12, burst_seconds=1e12, max_realtime_factor=1e12
)

EMPTY = "empty call"
LEVELS = "f32 LevelMeter.measure"
HISTOGRAM = "DurationHistogram.add"
HOP = "aclose_old_connections() hop"
IN_PLACE = "close_old_connections() in place"


@dataclass(frozen=True, slots=True)
class Operation:
    """One timed call: ``function(arg)`` for each ``arg`` in turn."""

    function: Callable[[Any], object]
    args: Sequence[Any]


@dataclass(frozen=True, slots=True)
class Result:
    """Per-call time of one operation, in microseconds, overhead subtracted."""

    name: str
    median_us: float
    p99_us: float
    calls: int


def realistic_signal() -> np.ndarray:
    """A sine plus a little noise, float32 in [-1, 1], ``DISTINCT_FRAMES`` long."""
    n = FRAME_SAMPLES * DISTINCT_FRAMES
    t = np.arange(n) / RATE
    rng = np.random.default_rng(0)
    tone = TONE_AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t)
    noise = rng.uniform(-NOISE_AMPLITUDE, NOISE_AMPLITUDE, n)
    return (tone + noise).astype(np.float32)


def frame_operations(fmt: SampleFormat) -> dict[str, Operation]:
    """The hot path end to end and its parts, for frames in ``fmt``."""
    chunks = np.split(realistic_signal(), DISTINCT_FRAMES)
    frames = [protocol.encode_frame(chunk, fmt) for chunk in chunks]
    decoded = [protocol.decode_frame(frame, fmt) for frame in frames]
    session = AudioSession.open(
        UNLIMITED, str(RATE), f"format={fmt.name}".encode(), time.monotonic()
    )

    def process_frame(frame: bytes) -> bytes:
        # As the consumer calls it: the clock is read once per message.
        return session.process_frame(frame, time.monotonic())

    # The echo processor must hand every frame back byte for byte (s16 round
    # trips exactly), or the timings below would not be of the real path.
    assert all(process_frame(frame) == frame for frame in frames)
    operations = {
        f"{fmt.name} process_frame": Operation(process_frame, frames),
        f"{fmt.name} decode_frame": Operation(
            functools.partial(protocol.decode_frame, fmt=fmt), frames
        ),
    }
    if fmt is protocol.F32:

        def limit_checks(frame: bytes) -> bool:
            now = time.monotonic()
            return session.message_budget.take(1, now) and session.audio_budget.take(
                FRAME_SAMPLES, now
            )

        operations["clock read + limit checks"] = Operation(limit_checks, frames)
        assert all(protocol.replace_nonfinite(s)[1] == 0 for s in decoded)
        operations["f32 replace_nonfinite"] = Operation(
            protocol.replace_nonfinite, decoded
        )
        operations.update(stats_operations(decoded))
    operations[f"{fmt.name} encode_frame"] = Operation(
        functools.partial(protocol.encode_frame, fmt=fmt), decoded
    )
    return operations


def stats_operations(decoded: list[np.ndarray]) -> dict[str, Operation]:
    """The two per-frame stats updates of ``SessionStats.frame_processed``, alone:
    the level meter on a decoded block and the processing-time histogram."""
    return {
        LEVELS: Operation(LevelMeter().measure, decoded),
        HISTOGRAM: Operation(DurationHistogram().add, HISTOGRAM_NS),
    }


def empty_call(arg: object) -> None:
    """Does nothing: its timing is the timer and call overhead to subtract."""


def time_per_call(function: Callable[[Any], object], args: Sequence[Any]) -> list[int]:
    """Nanoseconds of each ``function(arg)``, one reading per call."""
    clock = time.perf_counter_ns
    readings: list[int] = []
    append = readings.append
    for arg in args:
        start = clock()
        function(arg)
        append(clock() - start)
    return readings


def cycled(items: Sequence[Any], count: int) -> list[Any]:
    return [items[i % len(items)] for i in range(count)]


async def time_hops(calls: int) -> list[int]:
    """Nanoseconds of each ``await aclose_old_connections()``, one per call."""
    from channels.db import aclose_old_connections

    clock = time.perf_counter_ns
    readings: list[int] = []
    append = readings.append
    for _ in range(calls):
        start = clock()
        await aclose_old_connections()
        append(clock() - start)
    return readings


async def time_everything(
    operations: dict[str, Operation],
) -> dict[str, np.ndarray]:
    """Per-call nanoseconds of every operation and of the hop, gc off.

    Batches take turns, the hop's among them, so the drift of a shared machine
    reaches every figure alike and the ratios compare like with like.
    """
    batches = {
        name: (op.function, cycled(op.args, CALLS_PER_BATCH))
        for name, op in operations.items()
    }
    readings: dict[str, list[int]] = {name: [] for name in batches}
    readings[HOP] = []
    for function, args in batches.values():
        time_per_call(function, args)  # warm-up, discarded
    await time_hops(HOP_CALLS_PER_BATCH)  # starts the sync thread; discarded
    gc.disable()
    try:
        for _ in range(BATCHES):
            for name, (function, args) in batches.items():
                readings[name].extend(time_per_call(function, args))
            readings[HOP].extend(await time_hops(HOP_CALLS_PER_BATCH))
    finally:
        gc.enable()
    return {name: np.array(values) for name, values in readings.items()}


def summarize(name: str, readings_ns: np.ndarray, overhead_ns: float) -> Result:
    return Result(
        name=name,
        median_us=(float(np.median(readings_ns)) - overhead_ns) / 1000,
        p99_us=(float(np.percentile(readings_ns, 99)) - overhead_ns) / 1000,
        calls=readings_ns.size,
    )


def setup_django() -> None:
    """Configure the project's settings; only the hop rows need them."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wsaudio_site.settings")
    # The benchmark serves nothing, so it needs no real key; this also keeps a
    # fresh clone from generating .secret_key just to run it.
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-not-secret")
    import django

    django.setup()


def measure() -> tuple[list[Result], list[Result], float]:
    """Frame rows, hop rows, and the empty-call overhead subtracted from all."""
    operations = {EMPTY: Operation(empty_call, [None])}
    for fmt in (protocol.F32, protocol.S16):
        operations.update(frame_operations(fmt))
    setup_django()
    from django.db import close_old_connections

    operations[IN_PLACE] = Operation(lambda _: close_old_connections(), [None])
    readings = asyncio.run(time_everything(operations))
    overhead_ns = float(np.median(readings.pop(EMPTY)))
    results = {n: summarize(n, r, overhead_ns) for n, r in readings.items()}
    hop = [results.pop(HOP), results.pop(IN_PLACE)]
    return list(results.values()), hop, overhead_ns


def ratios(frames: list[Result], hop: Result) -> dict[str, float]:
    """Hop median over process_frame median, per format."""
    by_name = {r.name: r for r in frames}
    return {
        fmt: hop.median_us / by_name[f"{fmt} process_frame"].median_us
        for fmt in protocol.FORMATS
    }


def results_table(results: list[Result]) -> str:
    return markdown_table(
        ["operation", "median µs", "p99 µs", "calls"],
        [
            (r.name, f"{r.median_us:.2f}", f"{r.p99_us:.2f}", f"{r.calls:,}")
            for r in results
        ],
    )


LEAD = """\
What one audio frame costs on the server's hot path, and what the per-message
database hop of Channels 4.2+ would add to it."""

DOC_TEMPLATE = """\
{header}
## Frame cost

One frame is {frame_samples} samples at {rate} Hz ({frame_ms} ms of audio).
The frames are a {tone_hz:.0f} Hz sine at half scale plus a little noise, cycled
over {distinct_frames} distinct frames. `process_frame` is
`AudioSession.process_frame` end to end with the echo processor, as the consumer
calls it: a clock read, the message-rate and audio-rate checks (with limits wide
enough that every frame passes), decode, non-finite check (f32 only), processor,
encode, counters (the level meter and the processing-time histogram among them).
The other rows are its parts on the same frames (the limit checks are the same for
both formats); `replace_nonfinite` gets finite input, the usual case.
`LevelMeter.measure` takes the decoded f32 block ({frame_samples} samples: abs-max
and a dot product); `DurationHistogram.add` takes processing times from
{histogram_low_us:g} to {histogram_high_us:g} µs, one per call.

{frame_table}

Each call is timed on its own with `time.perf_counter_ns`, with the garbage
collector off. The run has {batches} rounds, and each round makes
{calls_per_batch:,} calls of every operation here and {hop_calls_per_batch} of
the hop below, so drift on a shared machine reaches all rows alike. The median
time of an empty call is subtracted from every row: {overhead_ns:.0f} ns of timer
and call overhead. Medians, not means; p99 shows how far the noise reaches.
Absolute figures drift from run to run on a shared machine: rerun a few times
before reading much into a difference under 2x.

A whole frame takes {f32_frame:.1f} µs in f32 and {s16_frame:.1f} µs in s16
(medians): at most {max_budget:.3f}% of the {frame_ms} ms of audio it carries.
Of that, the level meter and the histogram take {stats_us:.2f} µs together.

## The per-message hop

Channels 4.2+ awaits `channels.db.aclose_old_connections()` before every consumer
handler: a `sync_to_async` call that runs `close_old_connections()` on the one
shared sync thread and comes back. Measured per call from an asyncio loop with an
idle sync thread:

{hop_table}

Median over median, the hop costs {ratio_f32:.1f}x a whole f32 frame and
{ratio_s16:.1f}x a whole s16 frame. The work it hops for is the in-place row; the
rest is the round trip to the thread and back.

This is the best case. The same thread runs every `sync_to_async` call in the
process, Django's async ORM calls included, so under load each hop also waits
for whatever database work is queued ahead of it. Received WebSocket messages
never touch the database, so `EchoConsumer.dispatch` skips the hop for them;
connect and disconnect keep it.
"""


def render_doc(
    frames: list[Result], hop: list[Result], overhead_ns: float, environment: list[str]
) -> str:
    ratio = ratios(frames, hop[0])
    by_name = {r.name: r.median_us for r in frames}
    f32_frame = by_name["f32 process_frame"]
    s16_frame = by_name["s16 process_frame"]
    return DOC_TEMPLATE.format(
        header=page_header("bench/frame_cost.py", "Frame cost", LEAD, environment),
        frame_samples=FRAME_SAMPLES,
        rate=RATE,
        frame_ms=f"{FRAME_MS:g}",
        tone_hz=TONE_HZ,
        distinct_frames=DISTINCT_FRAMES,
        frame_table=results_table(frames),
        batches=BATCHES,
        calls_per_batch=CALLS_PER_BATCH,
        hop_calls_per_batch=HOP_CALLS_PER_BATCH,
        overhead_ns=overhead_ns,
        f32_frame=f32_frame,
        s16_frame=s16_frame,
        max_budget=100 * max(f32_frame, s16_frame) / (FRAME_MS * 1000),
        histogram_low_us=min(HISTOGRAM_NS) / 1000,
        histogram_high_us=max(HISTOGRAM_NS) / 1000,
        stats_us=by_name[LEVELS] + by_name[HISTOGRAM],
        hop_table=results_table(hop),
        ratio_f32=ratio["f32"],
        ratio_s16=ratio["s16"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", action="store_true", help=f"rewrite {DOC_PATH.relative_to(ROOT)}"
    )
    args = parser.parse_args()

    frames, hop, overhead_ns = measure()
    environment = describe_environment(["numpy", "Django", "Channels", "asgiref"])

    print(f"{FRAME_SAMPLES} samples at {RATE} Hz ({FRAME_MS:g} ms) per frame")
    print("\n".join(environment))
    print()
    print(results_table(frames + hop))
    print()
    for fmt, ratio in ratios(frames, hop[0]).items():
        print(f"hop / {fmt} process_frame (medians): {ratio:.1f}x")
    if args.write:
        DOC_PATH.write_text(render_doc(frames, hop, overhead_ns, environment))
        print(f"\nwrote {DOC_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
