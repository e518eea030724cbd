"""Measure what session records cost a server holding 1,000 live audio sessions.

Run from the project root: ``.venv/bin/python bench/metrics_flush.py [--write]``
(``--no-postgres`` skips PostgreSQL). With ``--write`` the run regenerates
docs/metrics-flush.md, which this script owns.

A real daphne process, pinned to CPU 0, serves 1,000 sessions that each send one
frame a second, plus one probe stream at real time whose round trips are timed;
this process drives them from CPU 1. Each database is measured twice with the same
load: session records on, then off.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import platform
import re
import resource
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import psycopg
import websockets
from psycopg import sql

# echo/ lives at the project root, one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from echo.protocol import MAX_MESSAGE_BYTES

ROOT = Path(__file__).resolve().parent.parent
DOC_PATH = ROOT / "docs" / "metrics-flush.md"
COMMAND = ".venv/bin/python bench/metrics_flush.py --write"
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test"

SERVER_CPU = 0
LOAD_CPU = 1
SESSIONS = 1000
CONNECT_BATCH = 100  # sessions opened together
MAX_SESSIONS = 2000  # the server's WSAUDIO_MAX_SESSIONS: room for all of them
FLUSH_SECONDS = 5
RATE = 16384
FRAME_SAMPLES = 1024  # 62.5 ms of audio
PROBE_FPS = RATE // FRAME_SAMPLES  # real time: 16 frames a second
FRAME_MS = 1000 * FRAME_SAMPLES / RATE
LOAD_INTERVAL_S = 1.0  # each load session sends one frame a second
DISTINCT_FRAMES = 16
WARMUP_S = 3.0  # every load session has sent before the window opens
MEASURE_S = 40.0  # about 8 flushes
NEAR_FLUSH_S = 0.3  # probe frames sent this soon after a flush started
POLL_S = 1.0  # /api/info/ polling period
REPLY_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 120.0  # for all sessions together
STARTUP_SECONDS = 30
CLOSE_TIMEOUT_S = 20.0
LOG_TAIL_LINES = 20

# What `make run` passes (the Makefile's DAPHNE_FLAGS).
DAPHNE_FLAGS = (
    f"--websocket-max-message-size {MAX_MESSAGE_BYTES} "
    f"--websocket-max-frame-size {MAX_MESSAGE_BYTES} --websocket_timeout -1"
).split()
LISTENING = re.compile(r"Listening on TCP address 127\.0\.0\.1:(\d+)")
PROBLEM = re.compile(r"\b(ERROR|CRITICAL|WARNING)\b|Traceback")


@dataclass
class Server:
    """One daphne process and the file it logs to."""

    process: subprocess.Popen
    port: int
    log: Path


@dataclass
class Flush:
    """One successful flush as /api/info/ reported it, and when it started."""

    rows: int
    collect_ms: float
    write_ms: float
    started: float | None  # Unix time; None when it could not be read back


@dataclass
class Tally:
    """Replies of the load sessions, counted on the load generator's loop."""

    sent: int = 0
    echoed: int = 0
    mismatched: int = 0
    lost: int = 0


@dataclass
class Run:
    """What one server run under load measured."""

    database: str
    records: bool
    window: tuple[float, float] = (0.0, 0.0)  # Unix times of the measuring window
    probe: list[tuple[float, float]] = field(default_factory=list)  # (sent, RTT ms)
    probe_lost: int = 0
    probe_mismatched: int = 0
    load: Tally = field(default_factory=Tally)
    cpu_percent: float = 0.0
    flushes: list[Flush] = field(default_factory=list)
    failing_seen: bool = False
    log_problems: list[str] = field(default_factory=list)
    connect_s: float = 0.0

    def in_window(self, sent: float) -> bool:
        return self.window[0] <= sent < self.window[1]

    @property
    def window_flushes(self) -> list[Flush]:
        """Flushes that started inside the measuring window (or may have)."""
        return [
            f for f in self.flushes if f.started is None or self.in_window(f.started)
        ]

    @property
    def lost(self) -> int:
        return self.load.lost + self.probe_lost

    @property
    def mismatched(self) -> int:
        return self.load.mismatched + self.probe_mismatched


# ---------------------------------------------------------------- the process


def raise_open_file_limit() -> int:
    """2,000 sockets between us and the server: take the hard limit (the server
    inherits it)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def pin_load_generator() -> bool:
    """Keep the load generator off the server's CPU; False when there is no CPU 1."""
    if {SERVER_CPU, LOAD_CPU} <= os.sched_getaffinity(0):
        os.sched_setaffinity(0, {LOAD_CPU})
        return True
    return False


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # the name may hold spaces
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- databases


@contextmanager
def sqlite_database(workdir: Path) -> Iterator[str]:
    yield f"sqlite:///{workdir / 'db.sqlite3'}"


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A new database beside ``admin_url``'s, dropped afterwards whatever happens."""
    name = f"wsaudio_bench_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlsplit(admin_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            drop = sql.SQL("DROP DATABASE {} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(name)))


def flush_start_reader(database_url: str) -> Callable[[], float | None]:
    """A function returning when the latest committed flush started (Unix time).

    Every row a flush writes has ``duration_seconds`` measured up to the one clock
    reading the flush takes first, so started_at + duration_seconds, at its largest
    over the open sessions, is that reading exactly: no polling guesswork.
    """
    if urlsplit(database_url).scheme.startswith("postgres"):
        query = (
            "SELECT max(extract(epoch FROM started_at) + duration_seconds) "
            "FROM echo_sessionrecord WHERE ended_at IS NULL"
        )

        def read_postgres() -> float | None:
            with psycopg.connect(database_url) as connection:
                (latest,) = connection.execute(query).fetchone()
            return None if latest is None else float(latest)

        return read_postgres
    path = database_url.removeprefix("sqlite:///")

    def read_sqlite() -> float | None:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            rows = connection.execute(
                "SELECT started_at, duration_seconds FROM echo_sessionrecord "
                "WHERE ended_at IS NULL"
            ).fetchall()
        finally:
            connection.close()
        ends = [parse_utc(started).timestamp() + seconds for started, seconds in rows]
        return max(ends, default=None)

    return read_sqlite


def parse_utc(text: str) -> dt.datetime:
    """A datetime as Django stores it in SQLite: UTC, without an offset."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def postgres_version(admin_url: str) -> str:
    with psycopg.connect(admin_url) as connection:
        return connection.execute("SHOW server_version").fetchone()[0].split()[0]


# ---------------------------------------------------------------- the server


def migrated_env(workdir: Path, database_url: str) -> dict[str, str]:
    """Environment for servers on ``database_url``, migrated, static files built."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_STATIC_ROOT": str(workdir / "static"),
        "DJANGO_SECRET_KEY": "benchmark-only-not-secret-0123456789-abcdefghijklmn",
        "PYTHONUNBUFFERED": "1",
        "WSAUDIO_MAX_SESSIONS": str(MAX_SESSIONS),
        "WSAUDIO_METRICS_FLUSH_SECONDS": str(FLUSH_SECONDS),
    }
    env.pop("WSAUDIO_MAX_MESSAGES_PER_SECOND", None)  # the default
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        subprocess.run(
            [sys.executable, "manage.py", *command, "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
    return env


def start_server(env: dict[str, str], log: Path) -> Server:
    """Start daphne on CPU 0 and port 0; wait until it says which port it got."""
    command = ["taskset", "-c", str(SERVER_CPU), sys.executable, "-m", "daphne"]
    command += [*DAPHNE_FLAGS, "-b", "127.0.0.1", "-p", "0"]
    command += ["wsaudio_site.asgi:application"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if match := LISTENING.search(log.read_text(errors="replace")):
            return Server(process, int(match.group(1)), log)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    stop_server(process)
    raise RuntimeError(f"daphne did not start:\n{log.read_text(errors='replace')}")


def stop_server(process: subprocess.Popen) -> None:
    """SIGTERM, as a deployment stops it (the records of open sessions get
    written at exit); kill if it does not go."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def log_problems(log: Path) -> list[str]:
    """Lines of the server's log at WARNING or above, and tracebacks."""
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if PROBLEM.search(line)]


# ---------------------------------------------------------------- the load


def echo_frames() -> list[bytes]:
    """Distinct f32 frames of finite samples: the echo returns them byte for byte."""
    rng = np.random.default_rng(0)
    blocks = rng.uniform(-0.5, 0.5, (DISTINCT_FRAMES, FRAME_SAMPLES))
    return [block.astype("<f4").tobytes() for block in blocks]


async def open_session(url: str) -> websockets.ClientConnection:
    """A session that got ``ready``."""
    ws = await websockets.connect(
        url, compression=None, ping_interval=None, close_timeout=5, open_timeout=30
    )
    message = json.loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S))
    if message.get("type") != "ready":
        raise RuntimeError(f"expected ready, got {message}")
    return ws


async def open_sessions(url: str, count: int) -> list[websockets.ClientConnection]:
    """``count`` sessions, opened ``CONNECT_BATCH`` at a time."""
    sessions: list[websockets.ClientConnection] = []
    for first in range(0, count, CONNECT_BATCH):
        batch = range(first, min(first + CONNECT_BATCH, count))
        sessions += await asyncio.gather(*(open_session(url) for _ in batch))
    return sessions


def settle_garbage_collector() -> None:
    """Move the load generator's 1,000 connections out of the collector's sight,
    so a full collection of ours never shows up as a slow round trip."""
    gc.collect()
    gc.freeze()


async def close_sessions(sessions: list[websockets.ClientConnection]) -> None:
    closing = asyncio.gather(*(ws.close() for ws in sessions), return_exceptions=True)
    try:
        await asyncio.wait_for(closing, CLOSE_TIMEOUT_S)
    except TimeoutError:
        pass  # the server's SIGTERM ends what is left


async def drive_load_session(
    ws: websockets.ClientConnection,
    phase: float,
    start: float,
    stop: float,
    frames: list[bytes],
    tally: Tally,
) -> None:
    """One frame a second at ``start + phase + k``, each reply checked; a session
    whose reply is lost stops there (its later frames would be misattributed)."""
    loop = asyncio.get_running_loop()
    for k in range(int((stop - start) / LOAD_INTERVAL_S) + 1):
        deadline = start + phase + k * LOAD_INTERVAL_S
        if deadline >= stop:
            return
        await asyncio.sleep(deadline - loop.time())
        frame = frames[k % len(frames)]
        tally.sent += 1
        try:
            await ws.send(frame)
            reply = await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S)
        except (TimeoutError, websockets.ConnectionClosed):
            tally.lost += 1
            return
        if reply == frame:
            tally.echoed += 1
        else:
            tally.mismatched += 1


@dataclass
class Probe:
    """The real-time stream: send times and round trips of its frames."""

    ws: websockets.ClientConnection
    frames: list[bytes]
    pending: deque[tuple[float, float, bytes]] = field(default_factory=deque)
    rtts: list[tuple[float, float]] = field(default_factory=list)
    mismatched: int = 0
    lost: int = 0

    async def send(self, start: float, stop: float) -> None:
        """16 frames a second on a fixed schedule, whatever the replies do."""
        loop = asyncio.get_running_loop()
        for k in range(int((stop - start) * PROBE_FPS) + 1):
            deadline = start + k / PROBE_FPS
            if deadline >= stop:
                return
            await asyncio.sleep(deadline - loop.time())
            frame = self.frames[k % len(self.frames)]
            self.pending.append((time.time(), time.perf_counter(), frame))
            await self.ws.send(frame)

    async def receive(self, sender: asyncio.Task, most: int) -> None:
        """Time each reply against its frame, in order, until the sender is done
        and every frame is answered (or lost: no reply within the timeout)."""
        for _ in range(most):
            if sender.done() and not self.pending:
                return
            try:
                reply = await asyncio.wait_for(self.ws.recv(), REPLY_TIMEOUT_S)
            except (TimeoutError, websockets.ConnectionClosed):
                break
            received = time.perf_counter()
            sent_at, sent, frame = self.pending.popleft()
            self.rtts.append((sent_at, (received - sent) * 1000))
            self.mismatched += reply != frame
        self.lost += len(self.pending)

    async def run(self, start: float, stop: float) -> None:
        sender = asyncio.create_task(self.send(start, stop))
        most = int((stop - start) * PROBE_FPS) + 2
        await asyncio.gather(sender, self.receive(sender, most))


def fetch_info(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=REPLY_TIMEOUT_S) as response:
        return json.loads(response.read())


async def poll_flushes(
    server: Server,
    stop: float,
    read_flush_start: Callable[[], float | None] | None,
    run: Run,
) -> None:
    """Every second until ``stop``: note each new ``last_flush`` of /api/info/
    and, when records are on, read back from the database when it started."""
    loop = asyncio.get_running_loop()
    url = f"http://127.0.0.1:{server.port}/api/info/"
    latest: dict | None = None
    for _ in range(int((stop - loop.time()) / POLL_S) + 1):
        metrics = (await asyncio.to_thread(fetch_info, url))["metrics"]
        run.failing_seen |= metrics["failing"]
        flush = metrics["last_flush"]
        if read_flush_start is not None and flush["rows"] and flush != latest:
            latest = flush
            started = await asyncio.to_thread(read_flush_start)
            rows, collect, write = (
                flush[k] for k in ("rows", "collect_ms", "write_ms")
            )
            run.flushes.append(Flush(rows, collect, write, started))
        if loop.time() + POLL_S >= stop:
            return
        await asyncio.sleep(POLL_S)


async def sample_cpu(pid: int, start: float, stop: float) -> float:
    """The server's CPU use between two loop times, in % of one CPU."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(start - loop.time())
    used, began = cpu_seconds(pid), loop.time()
    await asyncio.sleep(stop - loop.time())
    return 100 * (cpu_seconds(pid) - used) / (loop.time() - began)


async def drive(
    server: Server,
    run: Run,
    sessions_count: int,
    measure_s: float,
    read_flush_start: Callable[[], float | None] | None,
) -> None:
    """Open every session, run the load through the window, and fill in ``run``."""
    loop = asyncio.get_running_loop()
    url = f"ws://127.0.0.1:{server.port}/ws/echo/{RATE}/"
    frames = echo_frames()
    began = loop.time()
    sessions = await asyncio.wait_for(
        open_sessions(url, sessions_count), CONNECT_TIMEOUT_S
    )
    probe = Probe(await open_session(url), frames)
    run.connect_s = loop.time() - began
    settle_garbage_collector()
    try:
        start = loop.time() + 0.5
        opens, closes = start + WARMUP_S, start + WARMUP_S + measure_s
        offset = time.time() - loop.time()  # loop time to Unix time
        run.window = (opens + offset, closes + offset)
        phases = [i * LOAD_INTERVAL_S / sessions_count for i in range(sessions_count)]
        tally = Tally()
        load = [
            drive_load_session(ws, phase, start, closes, frames, tally)
            for ws, phase in zip(sessions, phases, strict=True)
        ]
        _, cpu, _, _ = await asyncio.gather(
            probe.run(start, closes),
            sample_cpu(server.process.pid, opens, closes),
            poll_flushes(server, closes + 2 * POLL_S, read_flush_start, run),
            asyncio.gather(*load),
        )
    finally:
        await close_sessions([*sessions, probe.ws])
        gc.unfreeze()  # the next run starts from a plain collector
    run.probe = [(sent, rtt) for sent, rtt in probe.rtts if run.in_window(sent)]
    run.probe_lost, run.probe_mismatched = probe.lost, probe.mismatched
    run.load, run.cpu_percent = tally, cpu


def measure_run(
    database: str,
    env: dict[str, str],
    workdir: Path,
    records: bool,
    args: argparse.Namespace,
) -> Run:
    """One server with records on or off, under the full load."""
    log = workdir / f"daphne-{'on' if records else 'off'}.log"
    env = {**env, "WSAUDIO_STORE_METRICS": "1" if records else "0"}
    reader = flush_start_reader(env["DATABASE_URL"]) if records else None
    run = Run(database, records)
    server = start_server(env, log)
    try:
        asyncio.run(drive(server, run, args.sessions, args.seconds, reader))
    finally:
        stop_server(server.process)
        run.log_problems = log_problems(log)
    return run


def measure_database(
    database: str, database_url: str, workdir: Path, args: argparse.Namespace
) -> list[Run]:
    """Records on, then off, on one freshly migrated database."""
    env = migrated_env(workdir, database_url)
    runs = []
    for records in (True, False):
        run = measure_run(database, env, workdir, records, args)
        print(summary_line(run), flush=True)
        runs.append(run)
    return runs


# ---------------------------------------------------------------- reporting


def median(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def rtt_stats(rtts: list[float]) -> tuple[int, float, float, float]:
    """Count, p50, p99 and max of round trips in ms."""
    return len(rtts), percentile(rtts, 50), percentile(rtts, 99), max(rtts, default=0)


def near_flush_split(run: Run) -> tuple[list[float], list[float]] | None:
    """Probe round trips of frames sent within NEAR_FLUSH_S after a flush started,
    and of the rest; None when the flush starts are unknown."""
    starts = [f.started for f in run.flushes]
    if not starts or None in starts:
        return None
    near, rest = [], []
    for sent, rtt in run.probe:
        close = any(0 <= sent - s < NEAR_FLUSH_S for s in starts)
        (near if close else rest).append(rtt)
    return near, rest


def flush_row(runs: list[Run]) -> dict[str, float | int]:
    """Medians and maxima over the flushes of the records-on run."""
    (on,) = [r for r in runs if r.records]
    flushes = on.window_flushes
    rows = [f.rows for f in flushes]
    collect = [f.collect_ms for f in flushes]
    write = [f.write_ms for f in flushes]
    return {
        "flushes": len(flushes),
        "rows_median": median(rows),
        "rows_max": max(rows, default=0),
        "collect_median": median(collect),
        "collect_max": max(collect, default=0.0),
        "write_median": median(write),
        "write_max": max(write, default=0.0),
    }


def summary_line(run: Run) -> str:
    count, p50, p99, top = rtt_stats([rtt for _, rtt in run.probe])
    return (
        f"{run.database} records {'on ' if run.records else 'off'}: "
        f"connect {run.connect_s:.1f} s, {len(run.window_flushes)} flushes, "
        f"probe {count} frames p50 {p50:.2f} p99 {p99:.2f} max {top:.2f} ms, "
        f"server CPU {run.cpu_percent:.1f}%, load {run.load.echoed}/"
        f"{run.load.sent} echoed, lost {run.lost}, mismatched {run.mismatched}"
    )


def flush_table(by_db: dict[str, list[Run]]) -> list[list[str]]:
    table = [
        [
            "database",
            "flushes",
            "rows median",
            "rows max",
            "collect ms median",
            "collect ms max",
            "write ms median",
            "write ms max",
        ]
    ]
    for database, runs in by_db.items():
        f = flush_row(runs)
        table.append(
            [
                database,
                str(f["flushes"]),
                f"{f['rows_median']:.0f}",
                str(f["rows_max"]),
                f"{f['collect_median']:.1f}",
                f"{f['collect_max']:.1f}",
                f"{f['write_median']:.1f}",
                f"{f['write_max']:.1f}",
            ]
        )
    return table


def probe_table(by_db: dict[str, list[Run]]) -> list[list[str]]:
    table = [
        [
            "database",
            "records",
            "probe frames",
            "RTT p50 ms",
            "RTT p99 ms",
            "RTT max ms",
            f"RTT > {FRAME_MS:g} ms",
            "server CPU %",
            "replies lost",
            "mismatched",
        ]
    ]
    for database, runs in by_db.items():
        for run in runs:
            rtts = [rtt for _, rtt in run.probe]
            count, p50, p99, top = rtt_stats(rtts)
            table.append(
                [
                    database,
                    "on" if run.records else "off",
                    str(count),
                    f"{p50:.2f}",
                    f"{p99:.2f}",
                    f"{top:.2f}",
                    str(late(rtts)),
                    f"{run.cpu_percent:.1f}",
                    str(run.lost),
                    str(run.mismatched),
                ]
            )
    return table


def near_flush_table(by_db: dict[str, list[Run]]) -> list[list[str]]:
    ms = f"{NEAR_FLUSH_S * 1000:.0f} ms"
    table = [
        [
            "database",
            f"frames < {ms} after a flush start",
            "p50 ms",
            "p99 ms",
            "max ms",
            "other frames",
            "p50 ms",
            "p99 ms",
            "max ms",
        ]
    ]
    for database, runs in by_db.items():
        (on,) = [r for r in runs if r.records]
        split = near_flush_split(on)
        if split is None:
            table.append([database, "flush starts unknown", *[""] * 7])
            continue
        near, rest = (rtt_stats(part) for part in split)
        table.append(
            [
                database,
                str(near[0]),
                *(f"{v:.2f}" for v in near[1:]),
                str(rest[0]),
                *(f"{v:.2f}" for v in rest[1:]),
            ]
        )
    return table


def text_table(table: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in table
    ]
    return "\n".join(lines)


def markdown_table(table: list[list[str]]) -> str:
    header, *rows = table
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join(["---"] + ["--:"] * (len(header) - 1)) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment(postgres: str | None) -> dict[str, str]:
    return {
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "cpu": f"{cpu_model()}, {os.cpu_count()} logical CPUs",
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": version("Django"),
        "channels": version("channels"),
        "daphne": version("daphne"),
        "numpy": np.__version__,
        "websockets": version("websockets"),
        "psycopg": version("psycopg"),
        "sqlite": sqlite3.sqlite_version,
        "postgres": postgres or "not measured (--no-postgres)",
    }


# ---------------------------------------------------------------- the page


DOC_TEMPLATE = """\
<!-- Generated by bench/metrics_flush.py --write: edit the template there. -->

# Session records under load

What writing a record of every audio session costs a server holding
{sessions:,} live sessions, on SQLite and on PostgreSQL.

Reproduce from the project root (about three and a half minutes;
`--no-postgres` skips PostgreSQL):

```sh
{command}
```

Figures from one run:

- date: {date}
- CPU: {cpu}
- system: {platform}
- Python {python}, Django {django}, Channels {channels}, Daphne {daphne},
  numpy {numpy}; load generator on websockets {websockets}
- SQLite {sqlite}; PostgreSQL {postgres} (psycopg {psycopg}), on this machine

## The load

One daphne process (the flags of `make run`) runs pinned to CPU 0 with
`WSAUDIO_MAX_SESSIONS={max_sessions}` and
`WSAUDIO_METRICS_FLUSH_SECONDS={flush_seconds}`, on a freshly migrated database.
The load generator, one asyncio process pinned to CPU 1, opens {sessions:,}
sessions ({batch} at a time) that each send one f32 frame of {frame_samples}
samples every second, their phases spread evenly over the second, so every
session changes between two flushes and every flush writes all of them. Beside
them a probe session streams at real time, {probe_fps} frames a second
({frame_samples} samples at {rate} Hz), and times each frame's round trip.
Every reply is checked to be byte-identical to its frame. Once connected, the
load generator takes its sessions out of its garbage collector's sight
(`gc.freeze()`), so its own full collections do not show up as round trips.

Each database is measured twice under the same load, with
`WSAUDIO_STORE_METRICS=1` and then `=0`, each on a new server process. The
measuring window opens {warmup:g} s after the load starts and lasts {measure:g} s.
`/api/info/` is polled once a second in both runs; in the records-on run each
new `metrics.last_flush` is kept, and the start of that flush is read back
from the rows it wrote (every row's `started_at + duration_seconds` is the
clock reading the flush takes first). Server CPU is the daphne process's user
plus system time over the window (`/proc/PID/stat`), in % of one CPU;
PostgreSQL's own processes are not in it, while SQLite's work is.

## Flushes

`rows` is what one flush wrote; `collect ms` is the time spent building the
rows on the event loop (no frame is served meanwhile); `write ms` is the
transaction on the flusher's thread, as the event loop awaited it (the loop
serves frames meanwhile). The thread does not make the write free for the audio
path: building model instances and SQL is Python work that needs the GIL, and
here the server has one CPU for its event loop and that thread alike. Flushes
that started inside the window:

{flush_table}

## The audio path

The probe's round trip, frame sent to reply received, over the frames sent in
the window, and the server's CPU use:

{probe_table}

Probe frames sent within {near_ms} of a flush's start (the collect and the
start of the write), against every other frame of the records-on run:

{near_flush_table}

## Reading the numbers

{reading}

One run on a shared {cpus}-CPU machine: the database server runs unpinned beside
both processes, and single figures (maxima above all, and p99 over a few dozen
frames) move from run to run. Read the medians; rerun before reading much into
a difference of a millisecond or two.
"""


def reading(by_db: dict[str, list[Run]]) -> str:
    """A paragraph per database, with the run's own numbers in it."""
    paragraphs = []
    for database, runs in by_db.items():
        on, off = sorted(runs, key=lambda r: not r.records)
        sentences = [
            f"**{database}.**",
            flush_sentence(flush_row(runs)),
            cpu_sentence(on, off),
            rtt_sentence(on, off),
            near_flush_sentence(on),
            integrity_sentence(on, off),
        ]
        paragraphs.append(
            textwrap.fill(
                " ".join(s for s in sentences if s), 80, break_on_hyphens=False
            )
        )
    return "\n\n".join(paragraphs)


def flush_sentence(f: dict[str, float | int]) -> str:
    rows = f["rows_median"] or float("nan")
    busy = (f["collect_median"] + f["write_median"]) / (FLUSH_SECONDS * 10)
    return (
        f"A flush of {rows:.0f} rows holds the event loop for "
        f"{f['collect_median']:.1f} ms while it builds them "
        f"({1000 * f['collect_median'] / rows:.1f} µs a row), then writes them in "
        f"{f['write_median']:.1f} ms on its thread (medians; the slowest write took "
        f"{f['write_max']:.1f} ms). Once every {FLUSH_SECONDS:g} s, that keeps the "
        f"flusher busy {busy:.1f}% of the time."
    )


def cpu_sentence(on: Run, off: Run) -> str:
    on_cpu, off_cpu = round(on.cpu_percent, 1), round(off.cpu_percent, 1)
    return (
        f"The server process used {on_cpu:.1f}% of a CPU with records on and "
        f"{off_cpu:.1f}% off ({on_cpu - off_cpu:+.1f} points)."
    )


def rtt_sentence(on: Run, off: Run) -> str:
    on_rtt = [rtt for _, rtt in on.probe]
    off_rtt = [rtt for _, rtt in off.probe]
    return (
        f"The probe's median round trip is {percentile(on_rtt, 50):.2f} ms on and "
        f"{percentile(off_rtt, 50):.2f} ms off, its p99 {percentile(on_rtt, 99):.2f} "
        f"ms on and {percentile(off_rtt, 99):.2f} ms off; {late(on_rtt)} replies on "
        f"and {late(off_rtt)} off came back more than {FRAME_MS:g} ms (one frame "
        f"of audio) after their frame."
    )


def near_flush_sentence(on: Run) -> str:
    split = near_flush_split(on)
    if split is None:
        return "The flush starts could not be read back, so no frame is attributed."
    near, rest = split
    if not near:
        return "No probe frame was sent close enough to a flush start to compare."
    return (
        f"The {len(near)} probe frames sent within {NEAR_FLUSH_S * 1000:.0f} ms "
        f"after a flush started took {percentile(near, 50):.2f} ms at the median "
        f"and {max(near):.2f} ms at most, against {percentile(rest, 50):.2f} ms and "
        f"{max(rest):.2f} ms for the other {len(rest)}. {late_share(near, rest)}"
    )


def late_share(near: list[float], rest: list[float]) -> str:
    """Whether the replies later than a frame came near flush starts."""
    total = late(near) + late(rest)
    if not total:
        return f"No reply of this run came back more than {FRAME_MS:g} ms late."
    if late(near) == total == 1:
        return "The one late reply came near a flush start."
    if late(near) == total:
        return f"The {total} late replies all came near a flush start."
    return f"Of the {total} late replies, {late(near)} came near a flush start."


def integrity_sentence(on: Run, off: Run) -> str:
    if on.lost or on.mismatched or off.lost or off.mismatched:
        text = (
            f"Replies lost: {on.lost} on, {off.lost} off; mismatched: "
            f"{on.mismatched} on, {off.mismatched} off."
        )
    else:
        text = "Every frame of both runs came back, byte-identical."
    if on.failing_seen or on.log_problems:
        text += (
            f" The server reported a failing write or logged "
            f"{len(on.log_problems)} warning or error lines: see the run's output."
        )
    return text


def late(rtts: list[float]) -> int:
    """Replies that came back more than one frame's worth of audio later."""
    return sum(rtt > FRAME_MS for rtt in rtts)


def render_doc(
    by_db: dict[str, list[Run]], env: dict[str, str], sessions: int, measure: float
) -> str:
    return DOC_TEMPLATE.format(
        command=COMMAND,
        **env,
        sessions=sessions,
        max_sessions=MAX_SESSIONS,
        flush_seconds=FLUSH_SECONDS,
        batch=CONNECT_BATCH,
        frame_samples=FRAME_SAMPLES,
        probe_fps=PROBE_FPS,
        rate=RATE,
        warmup=WARMUP_S,
        measure=measure,
        flush_table=markdown_table(flush_table(by_db)),
        probe_table=markdown_table(probe_table(by_db)),
        near_ms=f"{NEAR_FLUSH_S * 1000:.0f} ms",
        near_flush_table=markdown_table(near_flush_table(by_db)),
        reading=reading(by_db),
        cpus=os.cpu_count(),
    )


def report_problems(runs: list[Run]) -> None:
    """Print the tail of any server log that held warnings, errors or tracebacks."""
    for run in runs:
        if run.failing_seen:
            print(f"\n{run.database} records on: /api/info/ reported a failing write")
        if run.log_problems:
            state = "on" if run.records else "off"
            print(f"\n{run.database} records {state}: server log problems (tail):")
            print("\n".join(run.log_problems[-LOG_TAIL_LINES:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", action="store_true", help=f"rewrite {DOC_PATH.relative_to(ROOT)}"
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="admin database")
    parser.add_argument("--sessions", type=int, default=SESSIONS, help="load sessions")
    parser.add_argument(
        "--seconds", type=float, default=MEASURE_S, help="measuring window per run"
    )
    args = parser.parse_args()

    files = raise_open_file_limit()
    pinned = pin_load_generator()
    print(f"open files {files}; load generator on CPU {LOAD_CPU}: {pinned}")
    postgres = None if args.no_postgres else postgres_version(args.postgres_url)
    env = environment(postgres)
    print(
        f"{env['cpu']}; Python {env['python']}, SQLite {env['sqlite']}, "
        f"PostgreSQL {env['postgres']}"
    )
    by_db: dict[str, list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="wsaudio-bench-") as tmp:
        with sqlite_database(Path(tmp)) as url:
            by_db["SQLite"] = measure_database("SQLite", url, Path(tmp), args)
        if postgres is None:
            print("PostgreSQL skipped (--no-postgres)")
        else:
            workdir = Path(tmp) / "postgres"
            workdir.mkdir()
            with postgres_database(args.postgres_url) as url:
                by_db["PostgreSQL"] = measure_database("PostgreSQL", url, workdir, args)
    runs = [run for runs in by_db.values() for run in runs]
    print()
    print(text_table(flush_table(by_db)))
    print()
    print(text_table(probe_table(by_db)))
    print()
    print(text_table(near_flush_table(by_db)))
    report_problems(runs)
    if args.write:
        DOC_PATH.write_text(render_doc(by_db, env, args.sessions, args.seconds))
        print(f"\nwrote {DOC_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
