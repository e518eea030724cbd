"""Capacity: how many real-time audio streams one worker core holds, under Daphne,
under Uvicorn, and for a plain websockets echo; idle sessions; clients that stop
reading.

Run from the project root: ``.venv/bin/python bench/capacity.py [--write]``
(about 30 minutes); ``--write`` regenerates docs/benchmarks.md and
docs/benchmarks.json, which say what the run does. ``--quick`` runs every phase
at a toy size in well under a minute (the test suite's smoke test).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil
import uvloop
import websockets

# bench/, echo/, tests/ and wsaudio_client/ live at the project root, one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import describe_environment, markdown_table, page_header, reflow
from tests.live.records import records
from tests.live.server import ROOT, UVICORN_FLAGS, LiveServer, running_server, stop
from wsaudio_client.loadtest import LoadTest, run_loadtest
from wsaudio_client.wire import session_url

DOC_PATH = ROOT / "docs" / "benchmarks.md"
JSON_PATH = ROOT / "docs" / "benchmarks.json"
SERVER_CPU, LOAD_CPU = 0, 1
SERVERS = ("daphne", "uvicorn", "baseline")
FORMATS = ("f32", "s16")
# The project's real settings (records on), with room for every session.
SERVER_ENV = {"WSAUDIO_MAX_SESSIONS": "20000"}
MIB = 1 << 20
PING_SECONDS = 10.0  # how often each idle session pings
FLUSH_WAIT_SECONDS = 6.0  # for the records of sessions just ended (5 s flushes)


@dataclass(frozen=True)
class Plan:
    """The sizes of one run."""

    ladder: tuple[int, ...]  # stream counts tried in turn, until one is not held
    seconds: float  # of streaming at each step
    rtt_streams: int  # the step whose round trips are reported
    idle_sessions: int
    idle_seconds: float  # idle sessions held, pinging, after all connected
    slow_streams: int
    slow_readers: int
    slow_seconds: float
    slow_rate: int  # Hz of the slow-reader phase (see its section in the page)
    slow_frame_samples: int
    settle_seconds: float  # after a step, for the server to let its sessions go


FULL = Plan(
    ladder=(100, 200, 300, 400, 500, 600, 800, 1000, 1200, 1400, 1700, 2000, 2400),
    seconds=15.0,
    rtt_streams=100,
    idle_sessions=10_000,
    idle_seconds=25.0,
    slow_streams=100,
    slow_readers=10,
    slow_seconds=60.0,
    slow_rate=48_000,
    slow_frame_samples=3072,
    settle_seconds=2.0,
)
QUICK = Plan(
    ladder=(4, 8),
    seconds=1.0,
    rtt_streams=4,
    idle_sessions=20,
    idle_seconds=0.5,
    slow_streams=4,
    slow_readers=2,
    slow_seconds=2.0,
    slow_rate=48_000,
    slow_frame_samples=3072,
    settle_seconds=0.2,
)
PHASES = ("ladder", "idle", "slow")


class RefusedError(OSError):
    """A session got an error instead of ``ready`` (its code is the message)."""


@dataclass
class Server:
    kind: str
    url: str
    pid: int
    live: LiveServer | None = None  # the project's server: its database, its log

    def rss(self) -> int:
        return psutil.Process(self.pid).memory_info().rss


@contextlib.contextmanager
def serving(kind: str, workdir: Path) -> Iterator[Server]:
    """Server ``kind`` pinned to SERVER_CPU: the project under Daphne or Uvicorn,
    or the baseline echo."""
    pinned = ("taskset", "-c", str(SERVER_CPU))
    if kind != "baseline":
        with running_server(
            workdir, kind=kind, command_prefix=pinned, **SERVER_ENV
        ) as server:
            yield Server(kind, server.ws_url, server.process.pid, server)
        return
    command = [*pinned, sys.executable, str(ROOT / "bench" / "baseline_echo.py")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        port = re.search(r":(\d+)$", line.strip())
        if port is None:
            raise RuntimeError(f"the baseline did not start: {line!r}")
        yield Server(kind, f"ws://127.0.0.1:{port.group(1)}", process.pid)
    finally:
        stop(process)


async def ladder(server: Server, fmt: str, plan: Plan) -> dict[str, Any]:
    """Streams at each count of the plan's ladder until a count is not held, then
    the count halfway between the last held and that one."""
    steps: list[dict[str, Any]] = []
    rss_fresh = server.rss()  # before its first session

    async def step(streams: int) -> dict[str, Any]:
        test = LoadTest(
            server=server.url,
            streams=streams,
            seconds=plan.seconds,
            format=fmt,
            server_pid=server.pid,
            # Handshakes cost far more than frames: open 200 a second, so that
            # the streams already running are not held up by a burst of them.
            ramp_batch=50,
            ramp_interval=0.25,
            seed=streams,
        )
        summary = (await run_loadtest(test)).summary()
        steps.append(summary)
        print(step_line(server.kind, summary), flush=True)
        await asyncio.sleep(plan.settle_seconds)
        return summary

    held, failed = None, None
    for streams in plan.ladder:
        summary = await step(streams)
        if summary["generator"]["overloaded"]:
            break  # beyond here the load generator, not the server, is measured
        if not summary["held_real_time"]:
            failed = streams
            break
        held = streams
    if held is not None and failed is not None:
        middle = round((held + failed) / 2 / 50) * 50
        if held < middle < failed:
            summary = await step(middle)
            if summary["held_real_time"] and not summary["generator"]["overloaded"]:
                held = middle
    return {
        "server": server.kind,
        "format": fmt,
        "steps": steps,
        "held": held,
        "rss_fresh_mib": round(rss_fresh / MIB, 1),
    }


def step_line(kind: str, summary: dict[str, Any]) -> str:
    frames, rtt = summary["frames"], summary["rtt_ms"]
    process = summary["server_process"] or {}
    return (
        f"{kind:8} {summary['format']} {summary['streams']:5} streams: "
        f"held={summary['held_real_time']} received={frames['share_received']:.4f} "
        f"p50={rtt['p50']} p99={rtt['p99']} ms "
        f"server cpu={process.get('cpu_percent')}% "
        f"{process.get('cpu_us_per_frame')} us/frame "
        f"generator cpu={summary['generator']['cpu_percent']}%"
    )


async def hold_idle(server: Server, plan: Plan) -> dict[str, Any]:
    """Open idle sessions until the plan's count (or the first that fails), each
    pinging every PING_SECONDS, and hold them; the server's memory per session."""
    url = session_url(server.url, 16384)
    rss_before = server.rss()
    sessions: list[websockets.ClientConnection] = []
    failures: dict[str, int] = {}

    async def open_one() -> None:
        try:
            ws = await websockets.connect(
                url, compression=None, ping_interval=None, open_timeout=30
            )
            ready = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if ready.get("type") != "ready":
                await ws.close()
                raise RefusedError(ready.get("code", "no ready"))
            sessions.append(ws)
        except (OSError, TimeoutError, websockets.WebSocketException) as error:
            key = (
                str(error) if isinstance(error, RefusedError) else type(error).__name__
            )
            failures[key] = failures.get(key, 0) + 1

    started = time.monotonic()
    for first in range(0, plan.idle_sessions, 250):
        batch = min(250, plan.idle_sessions - first)
        await asyncio.gather(*(open_one() for _ in range(batch)))
        if failures:
            break
    connect_seconds = time.monotonic() - started
    answered = 0  # pings answered (the baseline echoes them back)

    async def ping(ws: websockets.ClientConnection, phase: float) -> None:
        nonlocal answered
        await asyncio.sleep(phase)
        while True:
            await ws.send(json.dumps({"type": "ping"}))
            await ws.recv()
            answered += 1
            await asyncio.sleep(PING_SECONDS)

    spacing = min(PING_SECONDS, plan.idle_seconds) / max(1, len(sessions))
    pingers = [
        asyncio.create_task(ping(ws, i * spacing)) for i, ws in enumerate(sessions)
    ]
    await asyncio.sleep(plan.idle_seconds)
    rss_held = server.rss()
    for pinger in pingers:
        pinger.cancel()
    errors = [
        result
        for result in await asyncio.gather(*pingers, return_exceptions=True)
        if not isinstance(result, asyncio.CancelledError)
    ]
    for first in range(0, len(sessions), 500):
        await asyncio.gather(
            *(ws.close() for ws in sessions[first : first + 500]),
            return_exceptions=True,
        )
    held = len(sessions)
    result = {
        "server": server.kind,
        "requested": plan.idle_sessions,
        "held": held,
        "failures": failures,
        "ping_errors": len(errors),
        "pings_answered": answered,
        "connect_seconds": round(connect_seconds, 1),
        "rss_before_mib": round(rss_before / MIB, 1),
        "rss_held_mib": round(rss_held / MIB, 1),
        "rss_per_session_kib": round((rss_held - rss_before) / 1024 / held, 1)
        if held
        else None,
    }
    print(f"{server.kind:8} idle: {result}", flush=True)
    await asyncio.sleep(plan.settle_seconds)
    return result


async def slow_readers(server: Server, plan: Plan) -> dict[str, Any]:
    """Normal streams beside clients that never read, with the server's memory
    read every second."""
    test = LoadTest(
        server=server.url,
        streams=plan.slow_streams,
        slow_readers=plan.slow_readers,
        seconds=plan.slow_seconds,
        rate=plan.slow_rate,
        frame_samples=plan.slow_frame_samples,
        server_pid=server.pid,
        seed=1,
    )
    samples: list[tuple[float, float]] = []
    started = time.monotonic()

    async def sample() -> None:
        while True:
            samples.append(
                (round(time.monotonic() - started, 1), round(server.rss() / MIB, 1))
            )
            await asyncio.sleep(1.0)

    sampler = asyncio.create_task(sample())
    try:
        summary = (await run_loadtest(test)).summary()
    finally:
        sampler.cancel()
    # How the server ended each session, from its records once they are written.
    await asyncio.sleep(FLUSH_WAIT_SECONDS)
    ends: dict[str, int] = {}
    for record in records(server.live).values():
        end = str(record["close_code"] or "open")
        ends[end] = ends.get(end, 0) + 1
    result = {
        "server": server.kind,
        "rss_mib": samples,
        "loadtest": summary,
        "records_by_close_code": ends,
    }
    print(
        f"{server.kind:8} slow readers: rss {samples[0][1]} -> {samples[-1][1]} MiB, "
        f"records by close code {ends}, normal held="
        f"{summary['held_real_time']} p99={summary['rtt_ms']['p99']} ms",
        flush=True,
    )
    await asyncio.sleep(plan.settle_seconds)
    return result


async def measure(
    kind: str, plan: Plan, workdir: Path, formats: list[str], phases: list[str]
) -> dict[str, Any]:
    result: dict[str, Any] = {"server": kind, "ladders": [], "idle": None, "slow": None}
    for fmt in formats if "ladder" in phases else ():
        # A fresh server per format: what one ladder leaves behind stays its own.
        with serving(kind, workdir / f"{kind}-{fmt}") as server:
            result["ladders"].append(await ladder(server, fmt, plan))
    if "idle" in phases:
        with serving(kind, workdir / f"{kind}-idle") as server:
            result["idle"] = await hold_idle(server, plan)
    if "slow" in phases and kind != "baseline":
        with serving(kind, workdir / f"{kind}-slow") as server:
            result["slow"] = await slow_readers(server, plan)
    return result


def step_at(ladder_result: dict[str, Any], streams: int | None) -> dict | None:
    for summary in ladder_result["steps"]:
        if summary["streams"] == streams:
            return summary
    return None


def capacity_rows(results: list[dict[str, Any]], plan: Plan) -> list[list[str]]:
    """One row per server and format: streams held, CPU per frame, round trips,
    memory per session, and the ratios to the baseline."""
    baseline = {
        ladder["format"]: ladder
        for result in results
        if result["server"] == "baseline"
        for ladder in result["ladders"]
    }
    rows = []
    for result in results:
        for ladder_result in result["ladders"]:
            fmt, held = ladder_result["format"], ladder_result["held"]
            top = step_at(ladder_result, held)
            at_rtt = step_at(ladder_result, plan.rtt_streams)
            base = baseline.get(fmt)
            base_top = step_at(base, base["held"]) if base else None
            cpu = cpu_per_frame(top)
            base_cpu = cpu_per_frame(base_top)
            rss_fresh = ladder_result["rss_fresh_mib"]
            rows.append(
                [
                    result["server"],
                    fmt,
                    held_text(ladder_result),
                    fixed(cpu, 0),
                    fixed(at_rtt and at_rtt["rtt_ms"]["p50"], 2),
                    fixed(at_rtt and at_rtt["rtt_ms"]["p99"], 2),
                    fixed(rss_per_stream_kib(top, rss_fresh), 0),
                    ratio(held, base and base["held"]),
                    ratio(cpu, base_cpu),
                ]
            )
    return rows


def cpu_per_frame(summary: dict | None) -> float | None:
    process = summary and summary["server_process"]
    return process and process.get("cpu_us_per_frame")


def rss_per_stream_kib(summary: dict | None, rss_fresh_mib: float) -> float | None:
    """The server's peak memory during a step, less its memory before its first
    session, per stream of that step."""
    process = summary and summary["server_process"]
    if not process or "rss_peak_mib" not in process:
        return None
    return 1024 * (process["rss_peak_mib"] - rss_fresh_mib) / summary["streams"]


def held_text(ladder_result: dict[str, Any]) -> str:
    held, last = ladder_result["held"], ladder_result["steps"][-1]
    if last["generator"]["overloaded"]:
        return f"≥ {held or 0} (load generator saturated at {last['streams']})"
    if held == max(step["streams"] for step in ladder_result["steps"]):
        return f"≥ {held} (top of the ladder)"
    return str(held) if held is not None else "none"


def fixed(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def ratio(value: float | None, base: float | None) -> str:
    return "–" if not value or not base else f"{value / base:.2f}"


# Sections other benchmarks write into the page between markers of their own
# (bench/heavy_capacity.py's): a rewrite of the page keeps them, before the steps.
MARKED_SECTION = re.compile(r"<!-- ([\w-]+):begin -->\n.*?<!-- \1:end -->\n", re.S)
STEPS_HEADING = "\n## Every step\n"


def keep_sections(text: str, old: str) -> str:
    """The page ``text`` with the marked sections of ``old`` before its steps."""
    kept = "".join(match.group(0) + "\n" for match in MARKED_SECTION.finditer(old))
    if not kept:
        return text
    if STEPS_HEADING not in text:
        return f"{text}\n{kept}"
    return text.replace(STEPS_HEADING, f"\n{kept}{STEPS_HEADING[1:]}", 1)


def page(environment: list[str], plan: Plan, results: list[dict[str, Any]]) -> str:
    header = page_header(
        "bench/capacity.py",
        "Capacity: real-time streams per worker core",
        LEAD.rstrip(),
        environment,
        note="about 30 minutes; `make bench-capacity` does the same",
    )
    capacity = markdown_table(
        [
            "server",
            "format",
            "streams held",
            "server CPU µs / frame",
            f"RTT p50 at {plan.rtt_streams} (ms)",
            f"RTT p99 at {plan.rtt_streams} (ms)",
            "RSS / stream (KiB)",
            "streams vs baseline",
            "CPU / frame vs baseline",
        ],
        capacity_rows(results, plan),
        text_columns=3,
    )
    idle = markdown_table(
        [
            "server",
            "sessions held",
            "connect (s)",
            "RSS held (MiB)",
            "RSS / session (KiB)",
            "pings answered",
        ],
        [
            [
                r["server"],
                f"{r['idle']['held']:,} of {r['idle']['requested']:,}",
                r["idle"]["connect_seconds"],
                r["idle"]["rss_held_mib"],
                fixed(r["idle"]["rss_per_session_kib"], 1),
                f"{r['idle']['pings_answered']:,}",
            ]
            for r in results
            if r["idle"]
        ],
    )
    slow = markdown_table(
        [
            "server",
            "RSS at start (MiB)",
            "at 20 s",
            "at 40 s",
            "at end",
            "sessions by close code (records)",
            "normal streams held",
            "their p99 (ms)",
        ],
        [slow_row(r["server"], r["slow"]) for r in results if r["slow"]],
    )
    ladders = "\n\n".join(
        f"**{each['server']}, {each['format']}**\n\n" + step_table(each)
        for result in results
        for each in result["ladders"]
    )
    return (
        header
        + "\n## Streams held in real time\n\n"
        + capacity
        + "\n\n"
        + reflow(CAPACITY_NOTES)
        + "\n## Idle sessions\n\n"
        + idle
        + "\n\n"
        + reflow(IDLE_NOTES.format(sessions=plan.idle_sessions, ping=PING_SECONDS))
        + "\n## Clients that stop reading\n\n"
        + slow
        + "\n\n"
        + reflow(
            SLOW_NOTES.format(
                streams=plan.slow_streams,
                slow=plan.slow_readers,
                seconds=plan.slow_seconds,
                rate=plan.slow_rate,
                kib=plan.slow_rate * 4 // 1024,
            )
        )
        + "\n## Where a frame's time goes, and what each change bought\n\n"
        + reflow(CHANGES_NOTES)
        + "\n## Every step\n\n"
        + ladders
        + "\n"
    )


STEP_HEADER = (
    "streams",
    "held",
    "received",
    "RTT p50",
    "p99",
    "max (ms)",
    "server CPU %",
    "µs / frame",
    "generator CPU %",
)


def step_table(ladder_result: dict[str, Any]) -> str:
    return markdown_table(
        STEP_HEADER,
        [
            [
                step["streams"],
                "yes" if step["held_real_time"] else "no",
                f"{step['frames']['share_received']:.4f}",
                fixed(step["rtt_ms"]["p50"], 2),
                fixed(step["rtt_ms"]["p99"], 2),
                fixed(step["rtt_ms"]["max"], 1),
                fixed((step["server_process"] or {}).get("cpu_percent"), 0),
                fixed(cpu_per_frame(step), 0),
                fixed(step["generator"]["cpu_percent"], 0),
            ]
            for step in ladder_result["steps"]
        ],
        text_columns=2,
    )


def slow_row(kind: str, slow: dict[str, Any]) -> list[str]:
    samples = slow["rss_mib"]

    def at(second: float) -> str:
        nearest = min(samples, key=lambda sample: abs(sample[0] - second))
        return f"{nearest[1]:.0f}"

    summary = slow["loadtest"]
    ended = ", ".join(
        f"{count} × {code}"
        for code, count in sorted(slow["records_by_close_code"].items())
    )
    return [
        kind,
        f"{samples[0][1]:.0f}",
        at(20),
        at(40),
        f"{samples[-1][1]:.0f}",
        ended or "–",
        "yes" if summary["held_real_time"] else "no",
        fixed(summary["rtt_ms"]["p99"], 2),
    ]


LEAD = """\
How many real-time audio streams one worker process holds on one core, what each
frame costs it, and what idle sessions and clients that stop reading cost it. The
project runs with its real settings (session records on, written to SQLite every
5 s; `WSAUDIO_MAX_SESSIONS` raised to 20,000 and the open-file limit to its hard
limit), once under Daphne (`daphne` with the flags of `make run`) and once under
Uvicorn (`uvicorn` with the flags of `make run-uvicorn`, uvloop); beside them, a
plain `websockets` echo on uvloop (`bench/baseline_echo.py`), the few lines a user
might write instead. Each server is pinned to one core and the load generator (the
project's `loadtest`, on uvloop) to the other, so the numbers are per worker core.
Streams connect 50 at a time, four batches a second, then send 1024-sample frames
at 16384 Hz (16 frames a second) for 15 s on an absolute schedule, each with its
own random phase, and every reply is checked byte for byte. A count is held when
every stream connected, no reply differed from its frame, at least 99.9% of frames
came back, and the round trip's p99 was at most 20 ms; the ladder stops at the
first count that is not held, then tries the count halfway back.
"""

CAPACITY_NOTES = """\
Server CPU per frame is the server's CPU time over the whole step (handshakes
included) divided by the frames it echoed, at the largest count held. RSS per
stream is the server's peak resident memory during that step, less its memory
before its first session, divided by the step's streams. The round trips are those
of the step at 100 streams. Ratios are to the baseline in the same format. When
the generator's own CPU or event-loop lag passes its limits, the ladder stops
there and the count before it is a lower bound on the server's: so it goes for
the baseline, whose ratios are therefore upper bounds for the others. Daphne and
Uvicorn stop short of their CPU: past the counts held, the round trip's p99
crosses 20 ms while the server still has a third of its core to spare, from
stalls (a burst of handshakes, a flush of the records, a garbage collection) that
delay every stream at once.
"""

IDLE_NOTES = """\
Up to {sessions:,} sessions connect (250 at a time), each waits for `ready`, then
sends a `ping` every {ping:g} s and reads its `pong`. RSS per session is the
server's resident memory with them all held, less its memory before the first,
divided by their number.
"""

SLOW_NOTES = """\
{streams} normal streams beside {slow} slow readers for {seconds:g} s: clients
that send at real time but never read a reply (after their first message they
stop reading the socket and keep a 4 KiB receive buffer, as behind a stalled
network). The session records say how the server ended each session. The phase
runs at {rate} Hz f32 ({kib} KiB/s of replies per client):
Linux buffers up to 4 MiB of a connection's unsent output on the server side
(`tcp_wmem`) before any server sees a stall, which at 16384 Hz would take a minute
by itself. Under Uvicorn, whose `send` waits while a client does not read,
`WSAUDIO_MAX_PENDING_SECONDS` (5 s of audio) then closes each slow reader with
`not_reading` (4509); Daphne never lets the application see the wait and buffers
every reply, so its memory grows by each slow reader's audio rate until the client
goes away.
"""


CHANGES_NOTES = """\
Measured while tuning the server, on this machine, one run each (so read
differences of a few percent as noise): `py-spy record --format raw` on the pinned
server under load, and single load-test steps of 15 s (Daphne at 300 streams,
Uvicorn at 600) with the server started from each stage of the work.

Under Uvicorn at 400 streams, about 60% of the server's samples are inside the
event loop's own C code (uvloop: the socket calls and callbacks), about 15% in
Uvicorn's protocol and `websockets`' parsing and framing, and about 12% in this
project's consumer, session and outbox (`AudioSession.process_frame` takes about
5 µs of the 50 a frame costs; [docs/frame-cost.md](frame-cost.md)). Under Daphne, most
of the time is Twisted's reactor and autobahn, which registers and unregisters the
socket with epoll for every reply; the project's code is about a tenth.

| stage | Daphne µs / frame | Daphne p99 (ms) | Uvicorn µs / frame | Uvicorn p99 (ms) |
|---|--:|--:|--:|--:|
| Channels' consumer loop (before) | 152 | 12.1 | 79.5 | 19.5 |
| the consumer reads its messages straight from the server | 123 | 4.1 | 50.4 | 5.7 |
| and an echoed f32 frame is its own reply (no copy) | 123 | 3.6 | 50.3 | 6.1 |
| and the startup heap frozen out of the collector | 125-131 | 4.9-5.4 | 49.7 | 5.7 |

- **The consumer's loop** bought the most: Channels waits on the server and the
  channel layer together through `asyncio.wait`, with a new task for every
  message; the audio consumer uses no channel layer and now awaits the server's
  `receive` directly (19% less CPU per frame under Daphne, 37% under Uvicorn).
- **Garbage collection**: with 500 streams, full collections of 14-33 ms were
  the longest stalls of a run; `gc.freeze()` after startup leaves them only the
  objects made since (12-15 ms).
- **The records' writes**: while the flusher writes on its thread, the event
  loop waited for the GIL in 5 ms slices; with a 0.5 ms switch interval its
  stalls at each flush at 800 streams went from 10-14 ms to 4-7 ms (p99 of that
  step 13.8 ms to 9.4 ms). Records cost about 4 µs per frame in all (Uvicorn at
  500 streams: 54.5 µs with them, 50.5 µs without).
- **Disconnects**: Channels closes stale database connections at every
  disconnect, through its one sync thread; skipping that (the consumer never
  opens one) cut the server's CPU for 3,000 sessions opened and closed by 29%.
- **Tried and left**: Uvicorn's older `websockets` implementation (`--ws
  websockets`) cost 74 µs per frame against 50 µs for the default
  (`websockets-sansio`). Handshakes still come in bursts: 50 sessions connecting
  at once stall the loop for 10-20 ms, which is why the ladder opens them 50 at a
  time, four times a second.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write",
        action="store_true",
        help=f"rewrite {DOC_PATH.relative_to(ROOT)} and {JSON_PATH.relative_to(ROOT)}",
    )
    parser.add_argument("--quick", action="store_true", help="toy sizes, seconds")
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help="comma-separated, of " + ", ".join(SERVERS),
    )
    parser.add_argument("--formats", default=",".join(FORMATS), help="of f32, s16")
    parser.add_argument(
        "--phases", default=",".join(PHASES), help="of " + ", ".join(PHASES)
    )
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--page-only",
        action="store_true",
        help=f"measure nothing: rewrite {DOC_PATH.relative_to(ROOT)} from "
        f"{JSON_PATH.relative_to(ROOT)} (after a change to the page's wording)",
    )
    args = parser.parse_args()
    if args.page_only:
        raw = json.loads(JSON_PATH.read_text())
        text = page(raw["environment"], Plan(**raw["plan"]), raw["results"])
        DOC_PATH.write_text(keep_sections(text, DOC_PATH.read_text()))
        print(f"wrote {DOC_PATH.relative_to(ROOT)}")
        return
    plan = QUICK if args.quick else FULL
    chosen = {}
    for option, allowed in (
        ("servers", SERVERS),
        ("formats", FORMATS),
        ("phases", PHASES),
    ):
        chosen[option] = getattr(args, option).split(",")
        if unknown := set(chosen[option]) - set(allowed):
            parser.error(f"--{option}: unknown {', '.join(sorted(unknown))}")
    kinds, formats, phases = chosen["servers"], chosen["formats"], chosen["phases"]
    if args.write and (
        args.quick
        or (kinds, formats, phases) != (list(SERVERS), list(FORMATS), list(PHASES))
    ):
        parser.error("--write takes the full run: every server, format and phase")

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # servers inherit it
    if {SERVER_CPU, LOAD_CPU} <= os.sched_getaffinity(0):
        os.sched_setaffinity(0, {LOAD_CPU})
    for name in [name for name in os.environ if name.startswith("WSAUDIO_")]:
        del os.environ[name]  # every setting but SERVER_ENV's at its default
    os.environ.pop("DATABASE_URL", None)  # each server's own SQLite file
    environment = describe_environment(
        ["Django", "channels", "daphne", "uvicorn", "uvloop", "websockets", "numpy"],
        f"server pinned to CPU {SERVER_CPU}, load generator (the project's "
        f"loadtest, on uvloop) to CPU {LOAD_CPU}; Uvicorn flags: "
        f"{' '.join(UVICORN_FLAGS)}",
    )
    print("\n".join(environment), flush=True)

    async def run_all() -> list[dict[str, Any]]:
        with tempfile.TemporaryDirectory(prefix="wsaudio-capacity-") as tmp:
            return [
                await measure(kind, plan, Path(tmp), formats, phases) for kind in kinds
            ]

    results = uvloop.run(run_all())
    raw = {"environment": environment, "plan": asdict(plan), "results": results}
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))
    text = page(environment, plan, results)
    print(text)
    if args.write:
        DOC_PATH.write_text(keep_sections(text, DOC_PATH.read_text()))
        JSON_PATH.write_text(json.dumps(raw, indent=1) + "\n")
        print(f"wrote {DOC_PATH.relative_to(ROOT)} and {JSON_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
