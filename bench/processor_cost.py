"""Measure what each built-in processor costs: per frame beside echo, in memory
per instance, to build, to prime its pedalboard plugin and to reconfigure.

Run from the project root: ``.venv/bin/python bench/processor_cost.py [--write]``
(about 2 minutes). With ``--write`` the run rewrites its section of
docs/processors.md (between the processor-cost markers) and
docs/processor-cost.json. ``--quick`` runs every measurement at a toy size, in
under a minute (the test suite's smoke test).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil

# bench/ and echo/ live at the project root, one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import (
    describe_environment,
    markdown_table,
    publish,
    reflow,
    write_section,
)
from bench.frame_cost import (
    DISTINCT_FRAMES,
    FRAME_SAMPLES,
    NOISE_AMPLITUDE,
    TONE_HZ,
    UNLIMITED,
    Operation,
    cycled,
    empty_call,
    summarize,
    time_per_call,
)
from echo import protocol
from echo.processing import Lane
from echo.processors import PROCESSORS, Chain, Processor
from echo.processors.decibels import dbfs
from echo.processors.effects import MAX_DELAY_SECONDS
from echo.processors.plugins import BUFFER_SAMPLES, PluginKernel
from echo.processors.smoothing import RAMP_SECONDS, WARMUP_SECONDS
from echo.sessions.session import AudioSession

ROOT = Path(__file__).resolve().parent.parent
DOC_PATH = ROOT / "docs" / "processors.md"
JSON_PATH = ROOT / "docs" / "processor-cost.json"

RATES = (16384, 48000)  # the browser client's rate, and the server's highest
# The rates at which heavy processors declare their cost (Processor.cost_per_second).
COST_RATES = (8000, 16000, 48000)
TYPICAL_CHAIN = ("highpass", "compressor", "gain")
TONE_AMPLITUDE = 0.25  # -12 dBFS: the compressor acts at its default, the limiter not
# Long enough to fill the delay's line, so all of its pages have been written.
SETTLE_SECONDS = MAX_DELAY_SECONDS + 0.5
PRIMER = np.zeros(BUFFER_SAMPLES, dtype=np.float32)
KIB = 1024


@dataclass(frozen=True)
class Plan:
    """The sizes of one run."""

    batches: int  # rounds; in each, every row of a table takes its calls in turn
    cost_rounds: int  # of streaming each heavy processor for its CPU cost
    cost_seconds: float  # of audio in each such round
    frames_per_batch: int  # frames per row per round
    builds_per_batch: int  # chains built, fresh plugins primed, configures
    instances: int  # kept alive at once for the memory figures
    settle_seconds: float  # of audio each of those instances takes


FULL = Plan(
    batches=40,
    cost_rounds=7,
    cost_seconds=4.0,
    frames_per_batch=250,
    builds_per_batch=10,
    instances=200,
    settle_seconds=SETTLE_SECONDS,
)
QUICK = Plan(
    batches=2,
    cost_rounds=1,
    cost_seconds=0.2,
    frames_per_batch=5,
    builds_per_batch=2,
    instances=3,
    settle_seconds=0.1,
)


def subjects() -> list[tuple[str, ...]]:
    """Every built-in alone, in the registry's order, then the typical chain."""
    return [(name,) for name in PROCESSORS] + [TYPICAL_CHAIN]


def label(names: tuple[str, ...]) -> str:
    return ",".join(names)


def realistic_frames(rate: int) -> list[np.ndarray]:
    """A sine plus a little noise at ``rate``: DISTINCT_FRAMES float32 frames."""
    n = FRAME_SAMPLES * DISTINCT_FRAMES
    t = np.arange(n) / rate
    rng = np.random.default_rng(0)
    tone = TONE_AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t)
    noise = rng.uniform(-NOISE_AMPLITUDE, NOISE_AMPLITUDE, n)
    return np.split((tone + noise).astype(np.float32), DISTINCT_FRAMES)


def build(names: tuple[str, ...], rate: int) -> Chain:
    """The chain a session opens for these names, every option at its default."""
    return Chain.build(PROCESSORS, names, {}, rate)


def run_chain(chain: Chain, block: np.ndarray) -> np.ndarray:
    """One block through ``chain``, its analysis reports taken as a session does."""
    out = chain.process(block)
    if chain.reporters:
        chain.take_reports()
    return out


def time_rounds(
    operations: dict[str, Operation], batches: int, calls: int
) -> dict[str, np.ndarray]:
    """Per-call nanoseconds of every operation, gc off, batches taking turns."""
    turns = {
        key: (op.function, cycled(op.args, calls)) for key, op in operations.items()
    }
    for function, args in turns.values():
        time_per_call(function, args[:1])  # warm-up, discarded
    readings: dict[str, list[int]] = {key: [] for key in turns}
    gc.disable()
    try:
        for _ in range(batches):
            for key, (function, args) in turns.items():
                readings[key].extend(time_per_call(function, args))
    finally:
        gc.enable()
    return {key: np.array(values) for key, values in readings.items()}


def frame_operations(
    names: tuple[str, ...], rate: int, frames: list[np.ndarray]
) -> dict[str, Operation]:
    """The chain alone, and the whole frame path of an f32 session running it."""
    chain = build(names, rate)
    messages = [protocol.encode_frame(frame, protocol.F32) for frame in frames]
    # What a session hands its chain: read-only float32 views of the bytes.
    blocks = [protocol.decode_frame(message, protocol.F32) for message in messages]
    query = f"format=f32&processor={label(names)}".encode()
    session = AudioSession.open(UNLIMITED, str(rate), query, time.monotonic())

    def whole_frame(message: bytes) -> bytes:
        # As EchoConsumer.receive_frame calls it, up to the send.
        reply = session.process_frame(message, time.monotonic())
        if session.reports_analysis:
            for analysis in session.take_analysis():
                protocol.encode_message(analysis)
        return reply

    for block, message in zip(blocks, messages, strict=True):
        out = run_chain(chain, block)
        assert len(out) == len(block) and np.isfinite(out).all(), label(names)
        assert len(whole_frame(message)) == len(message), label(names)
    if names == ("echo",):
        assert all(whole_frame(message) == message for message in messages)
    key = f"{label(names)}|{rate}"
    return {
        f"{key}|process": Operation(lambda block: run_chain(chain, block), blocks),
        f"{key}|frame": Operation(whole_frame, messages),
    }


def plugin_kernels(value: object, depth: int = 3) -> list[PluginKernel]:
    """The pedalboard kernels a processor holds, looked for ``depth`` levels down."""
    if isinstance(value, PluginKernel):
        return [value]
    if depth == 0 or isinstance(value, type) or not hasattr(value, "__dict__"):
        return []
    return [k for v in vars(value).values() for k in plugin_kernels(v, depth - 1)]


def time_priming(
    plugin_class: type, rate: int, count: int
) -> tuple[list[int], list[int], list[int]]:
    """Nanoseconds to make ``count`` fresh plugins, to prime each (PluginKernel
    runs one block of zeros), and for one more block of zeros once primed."""
    clock = time.perf_counter_ns
    made, primed, later = [], [], []
    for _ in range(count):
        start = clock()
        plugin = plugin_class()
        made.append(clock() - start)
        start = clock()
        kernel = PluginKernel(plugin, rate)
        primed.append(clock() - start)
        start = clock()
        kernel(PRIMER)
        later.append(clock() - start)
    return made, primed, later


def change_of(cls: type[Processor], rate: int) -> tuple[str, Any, Any] | None:
    """The change a configure row makes: the first option, from its default to
    halfway to its upper bound (the other value of a switch or a choice)."""
    if not cls.options:
        return None
    option = cls.options[0]
    default = cls.defaults(rate)[option.name]
    if option.kind == "bool":
        return option.name, default, not default
    if option.kind == "choice":
        index = option.choices.index(default)
        return option.name, default, option.choices[(index + 1) % len(option.choices)]
    high = option.bounds(rate)[1]
    other = (default + high) / 2
    return option.name, default, other if option.kind == "float" else int(other)


def time_configures(
    name: str, rate: int, frames: list[np.ndarray], count: int, state: dict[str, Any]
) -> tuple[list[int], list[int]]:
    """Nanoseconds of ``count`` configures of ``name`` and of the frame after each.

    ``state`` keeps the chain and the value last set between rounds. A frame
    runs before each change, so every change meets a settled processor.
    """
    option, first, second = state["change"]
    chain: Chain = state["chain"]
    clock = time.perf_counter_ns
    changes, after = [], []
    for _ in range(count):
        block = frames[state["frames"] % len(frames)]
        run_chain(chain, block)
        state["value"] = second if state["value"] == first else first
        start = clock()
        chain.configure(name, {option: state["value"]})
        changes.append(clock() - start)
        block = frames[(state["frames"] + 1) % len(frames)]
        start = clock()
        run_chain(chain, block)
        after.append(clock() - start)
        state["frames"] += 2
    return changes, after


def measure_setup(plan: Plan, overhead_ns: float) -> dict[str, Any]:
    """Builds, primings and configures at every rate, interleaved by round."""
    frames = {rate: realistic_frames(rate) for rate in RATES}
    builds = {
        f"{label(names)}|{rate}": Operation(
            lambda _, names=names, rate=rate: build(names, rate), [None]
        )
        for rate in RATES
        for names in subjects()
    }
    plugins = {
        (name, rate): type(kernel.plugin)
        for rate in RATES
        for name in PROCESSORS
        for kernel in plugin_kernels(build((name,), rate).stages[0])
    }
    configures: dict[tuple[str, int], dict[str, Any]] = {}
    for rate in RATES:
        for name, cls in PROCESSORS.items():
            if (change := change_of(cls, rate)) is not None:
                chain = build((name,), rate)
                configures[(name, rate)] = {
                    "change": change,
                    "chain": chain,
                    "value": change[1],
                    "frames": 0,
                }
                time_configures(name, rate, frames[rate], 1, configures[name, rate])
    priming: dict[tuple[str, int], tuple[list[int], ...]] = {
        key: ([], [], []) for key in plugins
    }
    configured: dict[tuple[str, int], tuple[list[int], ...]] = {
        key: ([], []) for key in configures
    }
    build_readings: dict[str, list[int]] = {key: [] for key in builds}
    gc.disable()
    try:
        for _ in range(plan.batches):
            for key, op in builds.items():
                build_readings[key].extend(
                    time_per_call(op.function, op.args * plan.builds_per_batch)
                )
            for (name, rate), plugin_class in plugins.items():
                readings = time_priming(plugin_class, rate, plan.builds_per_batch)
                for kept, new in zip(priming[name, rate], readings, strict=True):
                    kept.extend(new)
            for (name, rate), state in configures.items():
                readings = time_configures(
                    name, rate, frames[rate], plan.builds_per_batch, state
                )
                for kept, new in zip(configured[name, rate], readings, strict=True):
                    kept.extend(new)
            # Untimed: a delay is a reference cycle (its tap closes over it), so
            # without this the builds' lines would pile up until the end.
            gc.collect()
    finally:
        gc.enable()

    def result(key: str, readings: list[int]) -> dict[str, Any]:
        return asdict(summarize(key, np.array(readings), overhead_ns))

    return {
        "builds": {key: result(key, r) for key, r in build_readings.items()},
        "priming": [
            {
                "processor": name,
                "rate": rate,
                "plugin": f"pedalboard.{plugins[name, rate].__name__}",
                **{
                    part: result(f"{name}|{rate}|{part}", r)
                    for part, r in zip(
                        ("made", "primed", "later"), readings, strict=True
                    )
                },
            }
            for (name, rate), readings in priming.items()
        ],
        "configures": [
            {
                "processor": name,
                "rate": rate,
                "option": configures[name, rate]["change"][0],
                "values": list(configures[name, rate]["change"][1:]),
                "configure": result(f"{name}|{rate}|configure", readings[0]),
                "next_frame": result(f"{name}|{rate}|next frame", readings[1]),
            }
            for (name, rate), readings in configured.items()
        ],
    }


def memory_child(names: tuple[str, ...], rate: int, plan: Plan) -> dict[str, float]:
    """Bytes per instance of one chain, in this (fresh) process: see MEMORY."""
    frames = realistic_frames(rate)
    settle = math.ceil(plan.settle_seconds * rate / FRAME_SAMPLES)

    def stream(chain: Chain) -> None:
        for i in range(settle):
            run_chain(chain, frames[i % DISTINCT_FRAMES])

    for _ in range(2):  # first-use costs (lazy imports, caches) are no instance's
        stream(build(names, rate))
    process = psutil.Process()
    gc.collect()
    before = process.memory_info().rss
    kept = [build(names, rate) for _ in range(plan.instances)]
    gc.collect()
    built = process.memory_info().rss
    for chain in kept:
        stream(chain)
    gc.collect()
    streamed = process.memory_info().rss
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    traced = [build(names, rate) for _ in range(plan.instances)]
    for chain in traced:
        stream(chain)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - start
    tracemalloc.stop()
    return {
        "traced_bytes": held / plan.instances,
        "rss_built_bytes": (built - before) / plan.instances,
        "rss_streamed_bytes": (streamed - before) / plan.instances,
    }


def measure_memory(quick: bool) -> list[dict[str, Any]]:
    """Each chain at each rate in a process of its own, one after another."""
    rows = []
    for rate in RATES:
        for names in subjects():
            command = [sys.executable, __file__, "--memory-child", label(names)]
            command += ["--rate", str(rate)] + ["--quick"] * quick
            done = subprocess.run(
                command, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True
            )
            measured = json.loads(done.stdout)
            rows.append({"chain": label(names), "rate": rate, **measured})
    return rows


# One thread for every session streamed through it, as a server keeps its pool:
# what a thread makes once (vad's model session) is no session's cost.
POOL = ThreadPoolExecutor(1, thread_name_prefix="bench-processing")


async def stream_through_pool(session: AudioSession, messages: list[bytes]) -> None:
    """``messages`` as a consumer hands a heavy session's frames over: checked and
    decoded on the loop, processed on the pool's thread, replied to on the loop,
    one frame in flight (as for a real-time stream)."""
    pool = POOL
    done: asyncio.Future | None = None

    def finish(frame, future) -> None:
        processed, chain_ns = future.result()
        session.reply(frame, processed, chain_ns)
        if session.reports_analysis:
            for analysis in session.take_analysis():
                protocol.encode_message(analysis)
        done.set_result(None)

    lane = Lane(pool, session.run_chain_timed, finish)
    for message in messages:
        done = asyncio.get_running_loop().create_future()
        frame = session.accept_frame(message, time.monotonic())
        lane.submit(frame, FRAME_SAMPLES)
        await done


def pooled_cost(name: str, rate: int, seconds: float) -> float:
    """CPU-seconds of the whole process per second of audio, for one session of
    ``name`` streamed through the pool: the processor, its frame path and the
    hand-over to the thread and back."""
    query = f"format=f32&processor={name}".encode()
    session = AudioSession.open(UNLIMITED, str(rate), query, time.monotonic())
    frames = realistic_frames(rate)
    count = math.ceil(seconds * rate / FRAME_SAMPLES)
    messages = [
        protocol.encode_frame(frames[i % DISTINCT_FRAMES], protocol.F32)
        for i in range(count)
    ]
    started = time.process_time()
    asyncio.run(stream_through_pool(session, messages))
    return (time.process_time() - started) / (count * FRAME_SAMPLES / rate)


def measure_heavy(plan: Plan) -> list[dict[str, Any]]:
    """Each heavy processor's CPU-seconds per second of audio at COST_RATES (what
    it declares for admission) and at RATES, beside what it declares and its
    latency: rounds of streaming, the rates taking turns, on this thread's clock."""
    heavy = [name for name, cls in PROCESSORS.items() if cls.heavy]
    rates = sorted({*COST_RATES, *RATES})
    chains = {(name, rate): build((name,), rate) for name in heavy for rate in rates}
    frames = {rate: realistic_frames(rate) for rate in rates}
    readings: dict[tuple[str, int], list[float]] = {key: [] for key in chains}
    pooled: dict[tuple[str, int], list[float]] = {key: [] for key in chains}
    for (name, rate), chain in chains.items():
        run_chain(chain, frames[rate][0])  # first use: models loaded, probes made
        pooled_cost(name, rate, 0.1)  # and on a pool's thread
    for _ in range(plan.cost_rounds):
        for (name, rate), chain in chains.items():
            count = math.ceil(plan.cost_seconds * rate / FRAME_SAMPLES)
            started = time.thread_time()
            for i in range(count):
                run_chain(chain, frames[rate][i % DISTINCT_FRAMES])
            spent = time.thread_time() - started
            readings[name, rate].append(spent / (count * FRAME_SAMPLES / rate))
            pooled[name, rate].append(pooled_cost(name, rate, plan.cost_seconds))
    return [
        {
            "processor": name,
            "rate": rate,
            "cpu_seconds_per_second": float(np.median(readings[name, rate])),
            "spread": [min(readings[name, rate]), max(readings[name, rate])],
            "through_pool": float(np.median(pooled[name, rate])),
            "through_pool_spread": [min(pooled[name, rate]), max(pooled[name, rate])],
            "declared": PROCESSORS[name].cost(rate),
            "latency_ms": 1000 * chains[name, rate].latency_samples / rate,
        }
        for name, rate in chains
    ]


def first_use_child(name: str) -> dict[str, float]:
    """In this (fresh) process: what the first session of ``name`` pays, to build
    its processor and for its first frame (libraries loaded, models made)."""
    rate, process = RATES[0], psutil.Process()
    block = realistic_frames(rate)[0]
    clock = time.perf_counter
    rss, start = process.memory_info().rss, clock()
    chain = build((name,), rate)
    built, rss_built = clock(), process.memory_info().rss
    run_chain(chain, block)
    ran, rss_ran = clock(), process.memory_info().rss
    second = build((name,), rate)
    run_chain(second, block)
    return {
        "build_ms": 1000 * (built - start),
        "first_frame_ms": 1000 * (ran - built),
        "second_session_ms": 1000 * (clock() - ran),
        "rss_build_kib": (rss_built - rss) / KIB,
        "rss_first_frame_kib": (rss_ran - rss_built) / KIB,
    }


def measure_first_use() -> list[dict[str, Any]]:
    rows = []
    for name, cls in PROCESSORS.items():
        if cls.heavy:
            command = [sys.executable, __file__, "--first-use-child", name]
            done = subprocess.run(
                command, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True
            )
            rows.append({"processor": name, **json.loads(done.stdout)})
    return rows


def first_use_table(raw: dict[str, Any]) -> str:
    return markdown_table(
        [
            "processor",
            "build (ms)",
            "first frame (ms)",
            "both, a second session (ms)",
            "RSS: build (KiB)",
            "first frame (KiB)",
        ],
        [
            [
                row["processor"],
                f"{row['build_ms']:.2f}",
                f"{row['first_frame_ms']:.1f}",
                f"{row['second_session_ms']:.2f}",
                f"{row['rss_build_kib']:,.0f}",
                f"{row['rss_first_frame_kib']:,.0f}",
            ]
            for row in raw["first_use"]
        ],
    )


def heavy_table(raw: dict[str, Any]) -> str:
    return markdown_table(
        [
            "processor",
            "rate (Hz)",
            "alone",
            "spread",
            "session through the pool",
            "spread",
            "declared",
            "latency (ms)",
        ],
        [
            [
                row["processor"],
                f"{row['rate']}",
                f"{row['cpu_seconds_per_second']:.4f}",
                f"{row['spread'][0]:.4f}–{row['spread'][1]:.4f}",
                f"{row['through_pool']:.4f}",
                f"{row['through_pool_spread'][0]:.4f}–"
                f"{row['through_pool_spread'][1]:.4f}",
                # As declared now: a change of the figures shows at once.
                f"{PROCESSORS[row['processor']].cost(row['rate']):.4f}",
                f"{row['latency_ms']:.1f}",
            ]
            for row in raw["heavy"]
        ],
        text_columns=2,
    )


def measure(plan: Plan, quick: bool) -> dict[str, Any]:
    """Every figure of the page, as JSON."""
    operations = {"empty": Operation(empty_call, [None])}
    for rate in RATES:
        frames = realistic_frames(rate)
        for names in subjects():
            operations.update(frame_operations(names, rate, frames))
    print("per frame ...", flush=True)
    readings = time_rounds(operations, plan.batches, plan.frames_per_batch)
    overhead_ns = float(np.median(readings.pop("empty")))
    results = {k: asdict(summarize(k, r, overhead_ns)) for k, r in readings.items()}
    rows = []
    for rate in RATES:
        echo_frame = results[f"echo|{rate}|frame"]["median_us"]
        for names in subjects():
            key = f"{label(names)}|{rate}"
            frame = results[f"{key}|frame"]
            rows.append(
                {
                    "chain": label(names),
                    "rate": rate,
                    "process": results[f"{key}|process"],
                    "frame": frame,
                    "frame_over_echo": frame["median_us"] / echo_frame,
                }
            )
    print("building, priming, configuring ...", flush=True)
    setup = measure_setup(plan, overhead_ns)
    print("memory ...", flush=True)
    memory = measure_memory(quick)
    print("heavy processors' cost ...", flush=True)
    heavy = measure_heavy(plan)
    first_use = measure_first_use()
    return {
        "overhead_ns": overhead_ns,
        "frames": rows,
        **setup,
        "memory": memory,
        "heavy": heavy,
        "first_use": first_use,
    }


def cell(result: dict[str, Any]) -> str:
    """median / p99, in µs."""
    return f"{result['median_us']:.1f} / {result['p99_us']:.1f}"


def by_rate(rows: list[dict[str, Any]], key: str) -> dict[tuple[str, int], Any]:
    return {(row[key], row["rate"]): row for row in rows}


def frame_table(raw: dict[str, Any]) -> str:
    rows = by_rate(raw["frames"], "chain")
    header = ["chain"]
    for rate in RATES:
        header += [f"{rate} Hz: process", "whole frame", "× echo"]
    return markdown_table(
        header,
        [
            [label(names)]
            + [
                part
                for rate in RATES
                for row in [rows[label(names), rate]]
                for part in (
                    cell(row["process"]),
                    cell(row["frame"]),
                    f"{row['frame_over_echo']:.1f}",
                )
            ]
            for names in subjects()
        ],
    )


def memory_table(raw: dict[str, Any]) -> str:
    rows = by_rate(raw["memory"], "chain")
    header = ["chain"]
    for rate in RATES:
        header += [f"{rate} Hz: traced", "RSS built", "RSS streamed"]
    return markdown_table(
        header,
        [
            [label(names)]
            + [
                f"{rows[label(names), rate][part] / KIB:,.1f}"
                for rate in RATES
                for part in ("traced_bytes", "rss_built_bytes", "rss_streamed_bytes")
            ]
            for names in subjects()
        ],
    )


def build_table(raw: dict[str, Any]) -> str:
    builds = raw["builds"]
    return markdown_table(
        ["chain"] + [f"{rate} Hz" for rate in RATES],
        [
            [label(names)] + [cell(builds[f"{label(names)}|{rate}"]) for rate in RATES]
            for names in subjects()
        ],
    )


def priming_table(raw: dict[str, Any]) -> str:
    rows = by_rate(raw["priming"], "processor")
    builds = raw["builds"]
    names = list(dict.fromkeys(row["processor"] for row in raw["priming"]))
    header = ["processor", "plugin"]
    for rate in RATES:
        header += [f"{rate} Hz: made", "primed", "later", "% of build"]
    return markdown_table(
        header,
        [
            [name, f"`{rows[name, RATES[0]]['plugin']}`"]
            + [
                part
                for rate in RATES
                for row in [rows[name, rate]]
                for part in (
                    cell(row["made"]),
                    cell(row["primed"]),
                    cell(row["later"]),
                    f"{priming_share(row, builds[f'{name}|{rate}']):.0f}",
                )
            ]
            for name in names
        ],
        text_columns=2,
    )


def priming_share(row: dict[str, Any], build_result: dict[str, Any]) -> float:
    """The priming's median as a percentage of its processor's build median."""
    return 100 * row["primed"]["median_us"] / build_result["median_us"]


def configure_table(raw: dict[str, Any]) -> str:
    rows = by_rate(raw["configures"], "processor")
    frames = by_rate(raw["frames"], "chain")
    names = list(dict.fromkeys(row["processor"] for row in raw["configures"]))
    header = ["processor", "change"]
    for rate in RATES:
        header += [f"{rate} Hz: configure", "next frame", "settled frame"]
    table_rows = []
    for name in names:
        first = rows[name, RATES[0]]
        cells = [name, f"{first['option']}: {' ↔ '.join(map(shown, first['values']))}"]
        for rate in RATES:
            row = rows[name, rate]
            settled = frames[name, rate]["process"]
            cells += [cell(row["configure"]), cell(row["next_frame"]), cell(settled)]
        table_rows.append(cells)
    return markdown_table(header, table_rows, text_columns=2)


def shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def summary(raw: dict[str, Any]) -> dict[str, Any]:
    """The figures the prose quotes."""
    frames = by_rate(raw["frames"], "chain")
    singles = [name for name in PROCESSORS if name != "echo"]
    low, high = RATES
    dearest = max(singles, key=lambda name: frames[name, low]["frame_over_echo"])
    cheapest = min(singles, key=lambda name: frames[name, low]["frame_over_echo"])
    typical = label(TYPICAL_CHAIN)
    per_frame = {
        rate: frames[typical, rate]["frame"]["median_us"] for rate in RATES
    }  # µs
    shares = [
        priming_share(row, raw["builds"][f"{row['processor']}|{row['rate']}"])
        for row in raw["priming"]
    ]
    configures = by_rate(raw["configures"], "processor")
    slowest = max(configures.values(), key=lambda row: row["configure"]["median_us"])
    slowest_frame = frames[slowest["processor"], slowest["rate"]]["process"]
    return {
        "dearest": dearest,
        "dearest_low": frames[dearest, low]["frame_over_echo"],
        "dearest_high": frames[dearest, high]["frame_over_echo"],
        "cheapest": cheapest,
        "cheapest_low": frames[cheapest, low]["frame_over_echo"],
        "typical_low": frames[typical, low]["frame_over_echo"],
        "typical_high": frames[typical, high]["frame_over_echo"],
        # Frames per second of audio scale with the rate; cost per frame barely.
        "per_second_ratio": (per_frame[high] * high) / (per_frame[low] * low),
        "priming_low": min(row["primed"]["median_us"] for row in raw["priming"]),
        "priming_high": max(row["primed"]["median_us"] for row in raw["priming"]),
        "priming_share": max(shares),
        "slowest_configure": slowest["processor"],
        "slowest_rate": slowest["rate"],
        "slowest_frames": slowest["configure"]["median_us"]
        / slowest_frame["median_us"],
    }


MEMORY = """\
Each row in a fresh process: {instances} chains built with the defaults and kept
alive, measured once built and again after each has taken {settle_seconds:g} s of
audio (the delay's line holds {max_delay:g} s). *traced* is what tracemalloc
counts as held per chain after the audio: Python objects and numpy's buffers, not
what pedalboard's C++ (JUCE) allocates. *RSS* is the growth of the process's
resident memory divided by the chains, once built and once streamed: native
memory included, but only pages written (numpy's zeros come as untouched pages, so
the delay's line becomes resident as it fills) and with small objects lost in
pages the allocator already held. Two chains are built and streamed first, so
lazy imports and caches count for no row. The session around the chain (budgets,
counters, meters) is not included. KiB per chain:"""

SECTION_TEMPLATE = """\
<!-- Generated by bench/processor_cost.py --write: edit the template there. -->

Every built-in, measured beside echo in one run. Reproduce from the project root
(`make bench-processors`, about 2 minutes):

```sh
.venv/bin/python bench/processor_cost.py --write
```

Figures from one run (the raw figures are in `docs/processor-cost.json`):

{environment}

### Per frame

One frame is {frame_samples} samples: {frame_ms_low:.1f} ms of audio at {low} Hz,
{frame_ms_high:.1f} ms at {high} Hz. The input is a {tone_hz:.0f} Hz sine at
{tone_dbfs:.0f} dBFS plus noise about {noise_db:.0f} dB below full scale, cycled
over {distinct_frames} distinct frames; every option is at its default.
*process* is `Chain.process` with that chain alone (and `take_reports`, for
analysis). *whole frame* is `AudioSession.process_frame` of an f32 session running
the chain, as the consumer calls it up to the send (analysis messages encoded as
JSON): the clock read, limit checks, decode, non-finite check, encode and
counters of docs/frame-cost.md around the chain. *× echo* is the whole frame's
median over echo's at the same rate, from this run. Cells are median / p99 µs.

{frame_table}

Every call is timed on its own with `time.perf_counter_ns`, the garbage collector
off: {calls:,} calls a row, in {batches} rounds of {frames_per_batch} calls of
every row in turn, so drift on a shared machine reaches all rows alike.
{overhead_ns:.0f} ns of timer and call overhead (the median of an empty call) is
subtracted from every figure on this page.

The dearest processor alone is {dearest}: {dearest_low:.1f}x echo's frame at
{low} Hz and {dearest_high:.1f}x at {high} Hz; the cheapest besides echo is
{cheapest}, {cheapest_low:.1f}x at {low} Hz. The typical chain
`{typical}` is {typical_low:.1f}x echo at {low} Hz and {typical_high:.1f}x at
{high} Hz. A frame costs about the same at either rate, but a second of audio at
{high} Hz is {frames_ratio:.2f}x as many frames: per second of audio the typical
chain costs {per_second_ratio:.1f}x as much at {high} Hz as at {low} Hz.

### Memory per instance

{memory}

{memory_table}

### Building, priming, configuring

*Build* is `Chain.build` with that chain and the defaults, what opening a session
pays for its chain (the options resolved, the processors made, pedalboard's
plugins primed): {builds:,} builds a row, interleaved by round. Median / p99 µs:

{build_table}

The pedalboard processors prime each plugin with one block of {buffer_samples}
zeros as they make it (echo/processors/plugins.py). Below, fresh plugins of the
same class with pedalboard's defaults, {builds:,} a row: *made* is the
constructor, *primed* is `PluginKernel(plugin, rate)` (the first call: JUCE
prepares the plugin and runs the {buffer_samples} samples), *later* one more block
of {buffer_samples} zeros through the primed kernel, what that block costs once
prepared. *% of build* is the priming's median over its processor's build median.
Median / p99 µs:

{priming_table}

A priming takes {priming_low:.1f} to {priming_high:.1f} µs (medians), at most
{priming_share:.0f}% of its processor's build.

*configure* is `Chain.configure` as a configure message calls it (validation
included), changing the first option from its default halfway to its upper bound
and back, a frame between changes; {builds:,} changes a row. The filters and the
dynamics make a new kernel and warm it on the latest {warmup_seconds:g} s of input,
then crossfade to it over {ramp_ms:g} ms (echo/processors/smoothing.py); the
delay and the robot crossfade from the old setting's output, gain and the reverb's
levels ramp. *next frame* is the `Chain.process` right after the change, that
crossfade or ramp included (for analysis: its first frame at the new window);
*settled frame* is the same chain's *process* from the first table. echo takes no
options. Median / p99 µs:

{configure_table}

The dearest change is {slowest_configure}'s at {slowest_rate} Hz: as much as
{slowest_frames:.0f} of its settled frames (medians).

### Heavy processors: what admission counts

A heavy processor declares its cost in CPU-seconds per second of audio at 8000,
16000 and 48000 Hz (`cost_per_second`), and the server admits heavy sessions while
the sum fits its processing budget. *alone* is the median of {cost_rounds}
rounds of {cost_seconds:g} s of audio streamed through the processor alone in
1024-sample frames, the rates taking turns, on the thread's own CPU clock
(`time.thread_time`), so time the thread spent waiting is not counted; each
*spread* is the lowest and highest round. *session through the pool* is what a
session of it costs the whole process (`time.process_time`) per second of audio
when its frames go as the consumer sends them: checked and decoded on an event
loop, processed on a pool's thread, encoded and counted back on the loop, one
frame in flight; the hand-over to the thread and back is part of the cost.
*declared* is `cost(rate)`, linear between the declared rates: the figure of
*session through the pool*, rounded up, which a test holds at or above the latest
run's (tests/unit/test_heavy_costs.py). *latency* is `latency_samples` at that
rate.

{heavy_table}

What the first session of a heavy processor pays in a fresh process, at 16384 Hz
(each row a process of its own): *build* is `Chain.build` (for denoise, the probe
of soxr's bursts at that rate), *first frame* the first 1024-sample frame, which
loads the library (denoise: librnnoise.so through ctypes and RNNoise's first
state; vad: onnxruntime imported and this thread's model session made), and *both,
a second session* the same two steps once that is done. The RSS columns are the
process's growth over each of the first two steps.

{first_use_table}
"""


def section(raw: dict[str, Any]) -> str:
    plan = Plan(**raw["plan"])
    low, high = RATES
    return reflow(
        SECTION_TEMPLATE.format(
            environment="\n".join(f"- {line}" for line in raw["environment"]),
            frame_samples=FRAME_SAMPLES,
            frame_ms_low=1000 * FRAME_SAMPLES / low,
            frame_ms_high=1000 * FRAME_SAMPLES / high,
            low=low,
            high=high,
            tone_hz=TONE_HZ,
            tone_dbfs=dbfs(TONE_AMPLITUDE),
            noise_db=-dbfs(NOISE_AMPLITUDE),
            distinct_frames=DISTINCT_FRAMES,
            frame_table=frame_table(raw),
            calls=plan.batches * plan.frames_per_batch,
            batches=plan.batches,
            frames_per_batch=plan.frames_per_batch,
            overhead_ns=raw["overhead_ns"],
            typical=label(TYPICAL_CHAIN),
            frames_ratio=high / low,
            memory=MEMORY.format(
                instances=plan.instances,
                settle_seconds=plan.settle_seconds,
                max_delay=MAX_DELAY_SECONDS,
            ),
            memory_table=memory_table(raw),
            builds=plan.batches * plan.builds_per_batch,
            build_table=build_table(raw),
            buffer_samples=BUFFER_SAMPLES,
            priming_table=priming_table(raw),
            warmup_seconds=WARMUP_SECONDS,
            ramp_ms=1000 * RAMP_SECONDS,
            configure_table=configure_table(raw),
            cost_rounds=plan.cost_rounds,
            cost_seconds=plan.cost_seconds,
            heavy_table=heavy_table(raw),
            first_use_table=first_use_table(raw),
            **summary(raw),
        )
    )


def write_doc(text: str) -> None:
    write_section(DOC_PATH, "processor-cost", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write",
        action="store_true",
        help=f"rewrite the section of {DOC_PATH.relative_to(ROOT)} and "
        f"{JSON_PATH.relative_to(ROOT)}",
    )
    parser.add_argument("--quick", action="store_true", help="toy sizes, seconds")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--page-only",
        action="store_true",
        help=f"measure nothing: rewrite the section from {JSON_PATH.relative_to(ROOT)}"
        " (after a change to its wording)",
    )
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--first-use-child", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if args.memory_child:
        names = tuple(args.memory_child.split(","))
        print(json.dumps(memory_child(names, args.rate, plan)))
        return
    if args.first_use_child:
        print(json.dumps(first_use_child(args.first_use_child)))
        return
    if args.page_only:
        write_doc(section(json.loads(JSON_PATH.read_text())))
        print(f"wrote {DOC_PATH.relative_to(ROOT)}")
        return
    if args.write and args.quick:
        parser.error("--write takes the full run")

    environment = describe_environment(["numpy", "scipy", "pedalboard"])
    print("\n".join(environment), flush=True)
    started = time.monotonic()
    raw = {"environment": environment, "plan": asdict(plan)}
    raw.update(measure(plan, args.quick))
    raw["seconds"] = round(time.monotonic() - started)
    publish(
        section(raw),
        raw,
        json_copy=args.json,
        write=args.write,
        write_doc=write_doc,
        json_path=JSON_PATH,
    )


if __name__ == "__main__":
    main()
