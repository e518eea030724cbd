"""Measure what session records cost a server holding 1,000 live audio sessions.

Run from the project root: ``.venv/bin/python bench/metrics_flush.py [--write]``
(``--no-postgres`` skips PostgreSQL); ``--write`` regenerates docs/metrics-flush.md,
which says what the run does.
"""

import argparse
import asyncio
import gc
import json
import math
import os
import re
import resource
import sqlite3
import sys
import tempfile
import time
import urllib.request
from collections import deque
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg
import websockets

# bench/, echo/ and tests/ live at the project root, one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import (
    benchmark_databases,
    describe_environment,
    markdown_table,
    page_header,
    reflow,
)
from tests.live.server import LiveServer, is_postgres, running_server

ROOT = Path(__file__).resolve().parent.parent
DOC_PATH = ROOT / "docs" / "metrics-flush.md"
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test"
SERVER_CPU, LOAD_CPU = 0, 1
SESSIONS = 1000
CONNECT_BATCH = 100  # sessions opened together
SERVER_ENV = {
    "WSAUDIO_MAX_SESSIONS": "2000",  # room for all of them
    "WSAUDIO_METRICS_FLUSH_SECONDS": "5",
}
RATE = 16384
FRAME_SAMPLES = 1024
PROBE_FPS = RATE // FRAME_SAMPLES  # real time: 16 frames a second
FRAME_MS = 1000 * FRAME_SAMPLES / RATE  # 62.5 ms of audio a frame
# 16 distinct frames of finite f32 samples: the echo returns them byte for byte.
BLOCKS = np.random.default_rng(0).uniform(-0.5, 0.5, (16, FRAME_SAMPLES))
FRAMES = [block.astype("<f4").tobytes() for block in BLOCKS]
WARMUP_S = 3.0  # every load session has sent before the window opens
MEASURE_S = 40.0  # about 8 flushes
NEAR_FLUSH_S = 0.3  # probe frames sent this soon after a flush started
POLL_S = 1.0  # /api/info/ polling period
REPLY_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 120.0  # for all sessions together
CLOSE_TIMEOUT_S = 20.0
DRAIN_S = 30.0  # everything is done well within this after the window closes
FLUSH_START = (
    "SELECT max({epoch} + duration_seconds) FROM echo_sessionrecord"
    " WHERE ended_at IS NULL"
)
PROBLEM = re.compile(r"^.*(?:\b(?:ERROR|CRITICAL|WARNING)\b|Traceback).*$", re.M)


@dataclass
class Run:
    """What one server under the load measured."""

    database: str
    records: bool
    window: tuple[float, float] = (0.0, 0.0)  # Unix times of the measuring window
    probe: list[tuple[float, float]] = field(default_factory=list)  # (sent, RTT ms)
    flushes: list[dict] = field(default_factory=list)  # last_flush, with "started"
    lost: int = 0  # replies that never came, load and probe together
    mismatched: int = 0  # replies not byte-identical to their frame
    cpu_percent: float = 0.0

    def in_window(self, moment: float) -> bool:
        return self.window[0] <= moment < self.window[1]

    def rtts(self, near_flush: bool | None = None) -> list[float]:
        """Probe round trips in the window: all (None), or only those of frames sent
        within NEAR_FLUSH_S after a flush started (True), or only the rest (False)."""
        starts = [flush["started"] for flush in self.flushes]
        return [
            rtt
            for sent, rtt in self.probe
            if self.in_window(sent)
            and near_flush in (None, any(0 <= sent - s < NEAR_FLUSH_S for s in starts))
        ]


def flush_start(database_url: str) -> float | None:
    """When the latest committed flush started, as Unix time.

    Every row a flush writes has ``duration_seconds`` measured up to the one clock
    reading the flush takes first, so the largest started_at + duration_seconds
    over the open sessions is that reading exactly. (SQLite holds Django's UTC
    text: its Julian day less the epoch's, in seconds.)
    """
    if is_postgres(database_url):
        epoch = "extract(epoch FROM started_at)"
        db = psycopg.connect(database_url, connect_timeout=5)
    else:
        epoch = "(julianday(started_at) - 2440587.5) * 86400"
        path = database_url.removeprefix("sqlite:///")
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with closing(db):
        (started,) = db.execute(FLUSH_START.format(epoch=epoch)).fetchone()
    return None if started is None else float(started)


async def poll_flushes(server: LiveServer, polls: int, run: Run) -> None:
    """Every POLL_S, ``polls`` times: keep each new last_flush of /api/info/ with
    the time it started, read back from the database."""
    url, seen = f"{server.http_url}/api/info/", None
    for _ in range(polls):
        get = asyncio.to_thread(urllib.request.urlopen, url, timeout=REPLY_TIMEOUT_S)
        with await get as response:
            flush = json.load(response)["metrics"]["last_flush"]
        if run.records and flush["rows"] and flush != seen:
            seen = flush
            database = server.env["DATABASE_URL"]
            if (started := await asyncio.to_thread(flush_start, database)) is not None:
                run.flushes.append({**flush, "started": started})
        await asyncio.sleep(POLL_S)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def server_cpu(pid: int, start: float, stop: float) -> float:
    """The server's CPU use between two loop times, in % of one CPU."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(start - loop.time())
    used, began = cpu_seconds(pid), loop.time()
    await asyncio.sleep(stop - loop.time())
    return 100 * (cpu_seconds(pid) - used) / (loop.time() - began)


async def open_session(url: str) -> websockets.ClientConnection:
    """A session that got ``ready``."""
    ws = await websockets.connect(
        url, compression=None, ping_interval=None, close_timeout=5, open_timeout=30
    )
    message = json.loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S))
    if message.get("type") != "ready":
        raise RuntimeError(f"expected ready, got {message}")
    return ws


async def stream(ws, at: float, stop: float, fps: int, run: Run, timed=False) -> None:
    """``fps`` frames a second from loop time ``at`` until ``stop``, on a fixed
    schedule whatever the replies do; each reply checked against its frame, in
    order, and ``timed`` for the probe."""
    loop = asyncio.get_running_loop()
    count = math.ceil((stop - at) * fps)
    pending: deque[tuple[float, float, bytes]] = deque()

    async def send() -> None:
        for k in range(count):
            await asyncio.sleep(at + k / fps - loop.time())
            frame = FRAMES[k % len(FRAMES)]
            pending.append((time.time(), time.perf_counter(), frame))
            try:
                await ws.send(frame)
            except websockets.ConnectionClosed:
                return

    sender = asyncio.create_task(send())
    for _ in range(count):
        try:
            reply = await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S)
        except (TimeoutError, websockets.ConnectionClosed):
            break
        sent_at, sent, frame = pending.popleft()
        if timed:
            run.probe.append((sent_at, 1000 * (time.perf_counter() - sent)))
        run.mismatched += reply != frame
    await sender
    run.lost += len(pending)  # frames with no reply within REPLY_TIMEOUT_S


async def drive(server: LiveServer, run: Run) -> None:
    """Open every session, run the load through the window, and fill in ``run``."""
    loop = asyncio.get_running_loop()
    url = f"{server.ws_url}/ws/echo/{RATE}/"
    load: list[websockets.ClientConnection] = []
    async with asyncio.timeout(CONNECT_TIMEOUT_S):
        for first in range(0, SESSIONS, CONNECT_BATCH):
            batch = range(first, min(first + CONNECT_BATCH, SESSIONS))
            load += await asyncio.gather(*(open_session(url) for _ in batch))
        probe = await open_session(url)
    # Out of the collector's sight: collecting them would show as a slow round trip.
    gc.collect()
    gc.freeze()
    start = loop.time() + 0.5
    opens, closes = start + WARMUP_S, start + WARMUP_S + MEASURE_S
    to_unix = time.time() - loop.time()
    run.window = (opens + to_unix, closes + to_unix)
    try:
        async with asyncio.timeout_at(closes + DRAIN_S):
            run.cpu_percent, *_ = await asyncio.gather(
                server_cpu(server.process.pid, opens, closes),
                stream(probe, start, closes, PROBE_FPS, run, timed=True),
                poll_flushes(server, math.ceil((closes - start) / POLL_S) + 2, run),
                *(
                    stream(ws, start + i / SESSIONS, closes, 1, run)
                    for i, ws in enumerate(load)
                ),
            )
    finally:
        # What has not closed by then, the server's SIGTERM ends.
        closing_all = [asyncio.create_task(ws.close()) for ws in [*load, probe]]
        await asyncio.wait(closing_all, timeout=CLOSE_TIMEOUT_S)
        gc.unfreeze()


def measure(database: str, records: bool, workdir: Path) -> Run:
    """One new server and database, records on or off, under the full load."""
    run = Run(database, records)
    env = {**SERVER_ENV, "WSAUDIO_STORE_METRICS": str(int(records))}
    pinned = ("taskset", "-c", str(SERVER_CPU))
    with running_server(workdir, command_prefix=pinned, **env) as server:
        asyncio.run(drive(server, run))
    print(f"{database}, records {'on' if records else 'off'}: done", flush=True)
    if problems := PROBLEM.findall(server.output()):
        print("The server logged:", *problems[-20:], sep="\n", flush=True)
    return run


def stats(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


def late(rtts: list[float]) -> int:
    """Replies that came back more than one frame's worth of audio later."""
    return sum(rtt > FRAME_MS for rtt in rtts)


def database_row(on: Run, off: Run) -> dict[str, str]:
    """One database's row of the first table."""
    flushes = [flush for flush in on.flushes if on.in_window(flush["started"])]
    rows = stats([flush["rows"] for flush in flushes], 50)
    row = {"database": on.database, "flushes": str(len(flushes)), "rows": f"{rows:.0f}"}
    for key in ("collect_ms", "write_ms"):
        values = [flush[key] for flush in flushes]
        row[key] = f"{stats(values, 50):.1f}"
        row[f"{key} max"] = f"{max(values, default=math.nan):.1f}"
    row["cpu on"], row["cpu off"] = f"{on.cpu_percent:.1f}", f"{off.cpu_percent:.1f}"
    row["lost"] = str(on.lost + off.lost)
    row["mismatched"] = str(on.mismatched + off.mismatched)
    return row


def rtt_cells(rtts: list[float]) -> list[str]:
    """Count, p50, p99, max and replies later than a frame, for a table row."""
    numbers = [stats(rtts, 50), stats(rtts, 99), max(rtts, default=math.nan)]
    return [str(len(rtts)), *(f"{n:.2f}" for n in numbers), str(late(rtts))]


def tables(pairs: list[tuple[Run, Run]]) -> list[str]:
    """Flushes, server CPU and replies per database; the probe's round trips."""
    near = f"< {NEAR_FLUSH_S * 1000:.0f} ms after a flush start"
    probe_rows = []
    for run in (run for pair in pairs for run in pair):
        parts = [("all", None)] + [(near, True), ("other", False)] * run.records
        state = "on" if run.records else "off"
        probe_rows += [
            [run.database, state, frames, *rtt_cells(run.rtts(part))]
            for frames, part in parts
        ]
    return [
        markdown_table(
            ["database", "flushes", "rows", "collect ms", "collect ms max", "write ms"]
            + ["write ms max", "CPU % on", "CPU % off", "lost", "mismatched"],
            [database_row(on, off).values() for on, off in pairs],
        ),
        markdown_table(
            ["database", "records", "probe frames", "count", "p50 ms", "p99 ms"]
            + ["max ms", f"> {FRAME_MS:g} ms"],
            probe_rows,
            text_columns=3,
        ),
    ]


def reading(pairs: list[tuple[Run, Run]]) -> str:
    """Two sentences a database, and one on the replies, with the run's numbers."""
    paragraphs = []
    for on, off in pairs:
        row = database_row(on, off)
        near, rest = on.rtts(near_flush=True), on.rtts(near_flush=False)
        late_replies = (
            f"{late(near + rest)} replies came back more than {FRAME_MS:g} ms after"
            f" their frame, {late(near)} of them near a flush start"
            if late(near + rest)
            else f"no reply came back more than {FRAME_MS:g} ms after its frame"
        )
        paragraphs.append(
            f"**{on.database}.** A flush of {row['rows']} rows took"
            f" {row['collect_ms']} ms on the event loop to build and"
            f" {row['write_ms']} ms to write on its thread (medians), and the"
            f" server used {row['cpu on']}% of a CPU"
            f" against {row['cpu off']}% with records off. The probe's p99 round"
            f" trip was {stats(on.rtts(), 99):.2f} ms with records on and"
            f" {stats(off.rtts(), 99):.2f} ms off; frames sent within"
            f" {NEAR_FLUSH_S * 1000:.0f} ms after a flush start took up to"
            f" {max(near, default=math.nan):.2f} ms, the others up to"
            f" {max(rest, default=math.nan):.2f} ms, and {late_replies}."
        )
    runs = [run for pair in pairs for run in pair]
    lost, bad = sum(r.lost for r in runs), sum(r.mismatched for r in runs)
    paragraphs.append(
        f"{lost} replies were lost and {bad} were not byte-identical."
        if lost or bad
        else "Every reply of every run came back byte-identical to its frame."
    )
    return "\n\n".join(paragraphs)


def page(environment: list[str], pairs: list[tuple[Run, Run]]) -> str:
    """The text of docs/metrics-flush.md."""
    by_database, by_run = tables(pairs)
    server_env = ", ".join(f"`{name}={value}`" for name, value in SERVER_ENV.items())
    header = page_header(
        "bench/metrics_flush.py",
        "Session records under load",
        f"What writing a record of every audio session costs a server holding\n"
        f"{SESSIONS:,} live sessions, on SQLite and on PostgreSQL.",
        environment,
        "about three and a half minutes; `--no-postgres` skips PostgreSQL",
    )
    return reflow(f"""\
{header}
## What was run

One daphne process (the flags of `make run`, {server_env}) runs on CPU
{SERVER_CPU}, on a new migrated database. From CPU {LOAD_CPU}, {SESSIONS:,} sessions
each send a {FRAME_SAMPLES}-sample f32 frame a second, phases spread over the
second, and a probe session streams at real time ({PROBE_FPS} frames a second at
{RATE} Hz), timing each round trip. Every reply is checked byte for byte; once
connected, the generator calls `gc.freeze()`. Each database runs with
`WSAUDIO_STORE_METRICS=1`, then `=0`, on a new server, over a {MEASURE_S:g} s window
opening {WARMUP_S:g} s into the load. `/api/info/` is polled every second for
`metrics.last_flush`, and each flush's start is read back from the rows it wrote
(`started_at + duration_seconds`). Server CPU is daphne's user plus system time
from `/proc`, in % of one CPU (PostgreSQL's own processes are not in it).

## Flushes and server CPU

`collect ms` is spent on the event loop, 50 sessions at a time with frames
served in between; `write ms` runs on the flusher's thread while the loop serves
frames, on the same CPU and GIL. Flushes that started inside the
window (medians and maxima), the server's CPU with records on and off, and the
replies lost or not byte-identical in both runs:

{by_database}

## The audio path

The probe's round trips over the window; with records on, also split between
frames sent within {NEAR_FLUSH_S * 1000:.0f} ms after a flush started and the
others:

{by_run}

## Reading the numbers

{reading(pairs)}

One run on a shared {os.cpu_count()}-CPU machine, the database server unpinned
beside both processes: maxima, and p99s over a few dozen frames, move from run to
run. Read the medians; rerun before trusting a difference of a millisecond or two.
""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", action="store_true", help=f"rewrite {DOC_PATH.relative_to(ROOT)}"
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="admin database")
    args = parser.parse_args()

    # 2,000 sockets: the hard limit (the server inherits it); off the server's CPU.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if {SERVER_CPU, LOAD_CPU} <= os.sched_getaffinity(0):
        os.sched_setaffinity(0, {LOAD_CPU})
    for name in [name for name in os.environ if name.startswith("WSAUDIO_")]:
        del os.environ[name]  # every setting but SERVER_ENV's at its default
    databases, versions = benchmark_databases(
        None if args.no_postgres else args.postgres_url
    )
    environment = describe_environment(
        ["Django", "Channels", "Daphne", "numpy", "websockets", "psycopg"], versions
    )
    print("\n".join(environment), flush=True)

    pairs = []
    with tempfile.TemporaryDirectory(prefix="wsaudio-bench-") as tmp:
        for database, url in databases.items():
            # temporary_database makes each server's database beside this one.
            os.environ["DATABASE_URL"] = url
            on = measure(database, True, Path(tmp) / f"{database}-on")
            pairs.append((on, measure(database, False, Path(tmp) / f"{database}-off")))
    print(reflow("\n\n".join([*tables(pairs), reading(pairs)])))
    if args.write:
        DOC_PATH.write_text(page(environment, pairs))
        print(f"\nwrote {DOC_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
