"""The ``loadtest`` command: many real-time streams, every reply checked.

Each stream connects (in ramped batches), waits a random phase within one frame
period, then sends tagged frames (see ``tagging``) on an absolute schedule for the
test's duration while a second task checks the replies. The generator measures
its own CPU and event-loop lag, so that an overloaded generator is reported as
such rather than blamed on the server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import ipaddress
import random
import socket
import sys
import time
from array import array
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import psutil

from .errors import HandshakeFailed, ServerError, SessionClosed, WsaudioError
from .measure import LoopLag, now, percentiles_ms, sleep_until
from .reconnect import Gap, Reconnect
from .reconnecting_session import ReconnectingSession
from .session import Reply, Session, connect
from .tagging import MAX_STREAMS, TAG_SAMPLES, FrameTagger, InOrderTagger
from .wire import (
    DEFAULT_FRAME_SAMPLES,
    DEFAULT_RATE,
    FORMATS,
    is_identity_chain,
    session_url,
)

# What "held real time" means: every stream connected, no reply differs from its
# frame, this share of frames came back, and this round trip at the 99th percentile.
HELD_SHARE = 0.999
HELD_RTT_P99_MS = 20.0
# Above these the generator, not the server, is the bottleneck.
OVERLOADED_LAG_P99_MS = 5.0
OVERLOADED_CPU_PERCENT = 90.0
DRAIN_SECONDS = 2.0  # how long replies may trail a stream's last frame
CLOSE_SECONDS = 2.0  # how long a closing handshake may take at the end
CONNECT_SECONDS = 10.0  # handshake and ready, per connection
SAMPLE_SECONDS = 0.5  # how often the server process's memory is read
SLOW_READER_BUFFER = 4096  # bytes of a slow reader's socket receive buffer


class LoadTestLimits:
    """Bounds on a run, so that no loop of it is unbounded in count or time."""

    max_streams = 20_000
    max_slow_readers = 1_000
    max_seconds = 3_600.0


@dataclass(frozen=True)
class LoadTest:
    """One load test: ``streams`` real-time streams for ``seconds`` each."""

    server: str
    streams: int = 20
    seconds: float = 10.0
    rate: int = DEFAULT_RATE
    format: str = "f32"
    processor: str = "echo"
    frame_samples: int = DEFAULT_FRAME_SAMPLES
    ramp_batch: int = 50
    ramp_interval: float = 0.1
    slow_readers: int = 0
    server_pid: int | None = None
    allow_remote: bool = False
    seed: int | None = None
    reconnect: Reconnect | None = None  # each stream follows a server restart

    @property
    def period(self) -> float:
        """Seconds of audio in one frame (1024 samples at 16384 Hz = 62.5 ms)."""
        return self.frame_samples / self.rate

    @property
    def frames_per_stream(self) -> int:
        return int(self.seconds * self.rate // self.frame_samples)

    def validate(self) -> None:
        """Raise ValueError for a run that is out of bounds or aimed elsewhere."""
        limits = LoadTestLimits
        checks = (
            (
                1 <= self.streams <= limits.max_streams,
                f"--streams 1..{limits.max_streams}",
            ),
            (
                0 <= self.slow_readers <= limits.max_slow_readers,
                f"--slow-readers 0..{limits.max_slow_readers}",
            ),
            (
                self.streams + self.slow_readers <= MAX_STREAMS,
                f"at most {MAX_STREAMS} streams and slow readers together",
            ),
            (
                0 < self.seconds <= limits.max_seconds,
                f"--seconds above 0, up to {limits.max_seconds:g}",
            ),
            (
                TAG_SAMPLES < self.frame_samples,
                f"--frame-samples above {TAG_SAMPLES}, the samples of the tag",
            ),
            (self.frames_per_stream >= 1, "--seconds must hold at least one frame"),
            (self.format in FORMATS, f"--format one of {', '.join(FORMATS)}"),
            (self.ramp_batch >= 1, "--ramp-batch 1 or more"),
            (0 <= self.ramp_interval <= 60, "--ramp-interval 0..60 seconds"),
        )
        for holds, rule in checks:
            if not holds:
                raise ValueError(f"out of bounds: {rule}")
        session_url(self.server, self.rate)  # raises for a URL that is not ws/http
        if not self.allow_remote and not is_loopback(self.server):
            raise ValueError(
                f"{self.server} is not on this machine; a load test may only target "
                "loopback unless --allow-remote says you own the server"
            )


def is_loopback(server: str) -> bool:
    """Whether every address ``server``'s host resolves to is a loopback address."""
    host = urlsplit(server).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(
        ipaddress.ip_address(address.split("%")[0]).is_loopback for address in addresses
    )


@dataclass
class StreamTally:
    """What all streams of a run sent and got back, summed as they go."""

    frames_sent: int = 0
    frames_received: int = 0
    mismatched: int = 0
    rtt_seconds: array[float] = field(default_factory=lambda: array("d"))
    # seconds each frame went out behind its schedule
    send_lateness: array[float] = field(default_factory=lambda: array("d"))
    connect_failures: Counter[str] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)
    closed_early: Counter[str] = field(default_factory=Counter)  # close code
    gaps: list[Gap] = field(default_factory=list)  # where a stream reconnected


@dataclass
class SlowReaderTally:
    connected: int = 0
    frames_sent: int = 0
    connect_failures: Counter[str] = field(default_factory=Counter)
    closed: Counter[str] = field(default_factory=Counter)  # how a connection ended


@dataclass
class LoadTestResults:
    test: LoadTest
    streams: StreamTally
    slow_readers: SlowReaderTally
    elapsed_s: float
    generator_cpu_s: float
    loop_lag: dict[str, float | None]
    server_process: dict[str, Any] | None

    @property
    def frames_expected(self) -> int:
        return self.test.streams * self.test.frames_per_stream

    @property
    def share_received(self) -> float:
        return self.streams.frames_received / self.frames_expected

    @property
    def rtt_ms(self) -> dict[str, float | None]:
        return percentiles_ms(self.streams.rtt_seconds)

    @property
    def held_real_time(self) -> bool:
        p99 = self.rtt_ms["p99"]
        return (
            not self.streams.connect_failures
            and self.streams.mismatched == 0
            and self.share_received >= HELD_SHARE
            and p99 is not None
            and p99 <= HELD_RTT_P99_MS
        )

    def summary(self) -> dict[str, Any]:
        """The results as JSON-ready data (what ``--json`` prints)."""
        test, tally = self.test, self.streams
        cpu_percent = 100 * self.generator_cpu_s / self.elapsed_s
        lateness = percentiles_ms(tally.send_lateness)
        return {
            "server": test.server,
            "streams": test.streams,
            "seconds": test.seconds,
            "rate": test.rate,
            "format": test.format,
            "frame_samples": test.frame_samples,
            "frames_per_second": round(test.streams / test.period, 3),
            "frames": {
                "expected": self.frames_expected,
                "sent": tally.frames_sent,
                "received": tally.frames_received,
                "lost": tally.frames_sent - tally.frames_received,
                "mismatched": tally.mismatched,
                "share_received": round(self.share_received, 6),
            },
            "connect_failures": dict(tally.connect_failures),
            "server_errors": dict(tally.server_errors),
            "closed_early": dict(tally.closed_early),
            "reconnect": dataclasses.asdict(test.reconnect) if test.reconnect else None,
            "reconnects": len(tally.gaps),
            "gaps": {
                "frames_lost": sum(gap.frames_lost for gap in tally.gaps),
                "longest_s": round(max(gap.seconds for gap in tally.gaps), 3)
                if tally.gaps
                else None,
                "causes": dict(Counter(gap.cause for gap in tally.gaps)),
            },
            "rtt_ms": self.rtt_ms,
            "held_real_time": self.held_real_time,
            "generator": {
                "cpu_percent": round(cpu_percent, 1),
                "loop_lag_ms": self.loop_lag,
                "send_lateness_ms": lateness,
                "overloaded": cpu_percent > OVERLOADED_CPU_PERCENT
                or (self.loop_lag["p99"] or 0) > OVERLOADED_LAG_P99_MS,
            },
            "server_process": self.server_process,
            "slow_readers": {
                "requested": test.slow_readers,
                "connected": self.slow_readers.connected,
                "frames_sent": self.slow_readers.frames_sent,
                "connect_failures": dict(self.slow_readers.connect_failures),
                "closed": dict(self.slow_readers.closed),
            },
            "elapsed_s": round(self.elapsed_s, 3),
        }


async def run_loadtest(test: LoadTest) -> LoadTestResults:
    """Run ``test`` and return what it measured; raise ValueError before any
    connection when it is out of bounds."""
    test.validate()
    with _no_collection_pauses():
        return await _run(test)


@contextmanager
def _no_collection_pauses() -> Iterator[None]:
    """The cyclic garbage collector off for the run: a full collection over
    thousands of connections stops this process for tens of milliseconds, which
    would be measured as the server's round trip. The run makes few cycles; they
    are collected at its end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.collect()


async def _run(test: LoadTest) -> LoadTestResults:
    server = ServerProcess(test.server_pid) if test.server_pid else None
    tally, slow = StreamTally(), SlowReaderTally()
    lag = LoopLag()
    phases = random.Random(test.seed)
    cpu_start, wall_start = time.process_time(), now()
    watchers = [asyncio.create_task(lag.watch())]
    if server is not None:
        watchers.append(asyncio.create_task(server.watch()))
    connections = test.streams + test.slow_readers
    batches = -(-connections // test.ramp_batch)
    # Every connection is bounded by CONNECT_SECONDS and every stream by its
    # schedule and DRAIN_SECONDS; this bounds the whole run besides.
    bound = batches * (test.ramp_interval + CONNECT_SECONDS) + test.seconds + 30
    try:
        async with asyncio.timeout(bound), asyncio.TaskGroup() as group:
            for first in range(0, connections, test.ramp_batch):
                batch = []
                for stream in range(first, min(first + test.ramp_batch, connections)):
                    connected = asyncio.get_running_loop().create_future()
                    phase = phases.uniform(0, test.period)
                    if stream < test.streams:
                        job = _stream(test, stream, phase, tally, connected)
                    else:
                        job = _slow_reader(test, stream, phase, slow, connected)
                    group.create_task(job)
                    batch.append(connected)
                await asyncio.wait(batch)  # every handshake of the batch is over
                await asyncio.sleep(test.ramp_interval)
    finally:
        for watcher in watchers:
            watcher.cancel()
    return LoadTestResults(
        test=test,
        streams=tally,
        slow_readers=slow,
        elapsed_s=now() - wall_start,
        generator_cpu_s=time.process_time() - cpu_start,
        loop_lag=percentiles_ms(lag.lags),
        server_process=server.summary(tally.frames_received) if server else None,
    )


def _session(test: LoadTest, **options: Any):
    return connect(
        test.server,
        test.rate,
        format=test.format,
        processor=test.processor,
        open_timeout=CONNECT_SECONDS,
        ping_interval=None,  # a load test's own traffic is enough
        close_timeout=CLOSE_SECONDS,
        **options,
    )


def _refusal(error: WsaudioError) -> str:
    """Why a connection did not get ``ready``, as a short key for the counts."""
    if isinstance(error, ServerError):
        return error.code
    if isinstance(error, HandshakeFailed) and error.status is not None:
        return f"http_{error.status}"
    return type(error).__name__


async def _stream(
    test: LoadTest,
    stream: int,
    phase: float,
    tally: StreamTally,
    connected: asyncio.Future,
) -> None:
    """One real-time stream: connect, then send and check until its last frame."""
    try:
        async with _session(test, reconnect=test.reconnect) as session:
            connected.set_result(True)
            await _send_and_check(session, test, stream, phase, tally)
    except WsaudioError as error:
        if connected.done():  # no longer a refusal: closing on the way out failed
            tally.closed_early[type(error).__name__] += 1
        else:
            tally.connect_failures[_refusal(error)] += 1
            connected.set_result(False)


async def _send_and_check(
    session: Session | ReconnectingSession,
    test: LoadTest,
    stream: int,
    phase: float,
    tally: StreamTally,
) -> None:
    # Replies to a chain of identities are checked byte for byte; others, which
    # change the tag with the audio, by their order and size.
    identities = is_identity_chain(test.processor.split(","))
    tagger = (FrameTagger if identities else InOrderTagger)(
        stream, test.frame_samples, test.format
    )
    frames = test.frames_per_stream
    sent_at = np.zeros(frames)  # when each sequence number went out, now()
    sent = 0  # sequence numbers below this may be answered

    async def check_replies() -> None:
        expected = 0  # the sequence number the next reply should carry
        while expected < frames:
            try:
                reply = await session.receive()
            except ServerError as error:
                tally.server_errors[error.code] += 1
                if error.closes_session:
                    tally.closed_early[str(error.close_code)] += 1
                    return
                continue
            except SessionClosed as closed:
                tally.closed_early[str(closed.close_code)] += 1
                return
            except WsaudioError as failed:  # a reconnect gave up: HandshakeFailed
                tally.closed_early[_refusal(failed)] += 1
                return
            if isinstance(reply, Gap):
                # Sequence numbers are the client's frame indexes, which run on
                # across sessions: the new session's replies carry them still.
                tally.gaps.append(reply)
                tagger.resume(reply.resumed_at)
                expected = max(expected, reply.resumed_at)
                continue
            if not isinstance(reply, Reply):
                continue
            tally.frames_received += 1
            sequence = tagger.sequence_of(reply.data)
            if sequence is None or not expected <= sequence < sent:
                tally.mismatched += 1  # taken to be the reply to ``expected``
                expected += 1
                continue
            tally.rtt_seconds.append(now() - sent_at[sequence])
            expected = sequence + 1  # replies to the ones skipped are lost

    checker = asyncio.create_task(check_replies())
    start = now() + phase
    try:
        for sequence in range(frames):
            due = start + sequence * test.period
            await sleep_until(due)
            if checker.done():
                break  # the server ended the session
            went_out = now()
            tally.send_lateness.append(went_out - due)
            sent_at[sequence] = went_out
            sent = sequence + 1
            await session.send(tagger.frame(sequence))
            tally.frames_sent += 1
    except WsaudioError:
        pass  # the session ended (for good, with reconnect): the checker records how
    finally:
        await asyncio.wait({checker}, timeout=DRAIN_SECONDS)
        checker.cancel()


async def _slow_reader(
    test: LoadTest,
    stream: int,
    phase: float,
    tally: SlowReaderTally,
    connected: asyncio.Future,
) -> None:
    """A client that sends at real time and never reads a reply.

    Its receive buffer holds one message, then it stops reading the socket, whose
    kernel buffer is kept small, so the server's replies back up as they would
    behind a stalled network.
    """
    tagger = FrameTagger(stream, test.frame_samples, test.format)
    try:
        async with _session(test, max_queue=1) as session:
            sock = session.websocket.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLOW_READER_BUFFER)
            connected.set_result(True)
            tally.connected += 1
            start = now() + phase
            try:
                # A send blocks once the server stops reading from this client.
                async with asyncio.timeout(test.seconds + test.period + DRAIN_SECONDS):
                    for sequence in range(test.frames_per_stream):
                        await sleep_until(start + sequence * test.period)
                        await session.send(tagger.frame(sequence))
                        tally.frames_sent += 1
                tally.closed["open_at_end"] += 1
            except TimeoutError:
                tally.closed["send_blocked"] += 1
            except SessionClosed as closed:
                tally.closed[str(closed.close_code or "dropped")] += 1
            session.websocket.transport.abort()  # no closing handshake to wait for
    except WsaudioError as error:
        if not connected.done():
            tally.connect_failures[_refusal(error)] += 1
            connected.set_result(False)


def linux_process_cpu_clock(pid: int) -> int:
    """Linux's CPU-time clock of another process, what ``clock_getcpuclockid``
    returns (the kernel's MAKE_PROCESS_CPUCLOCK): it counts nanoseconds of every
    thread, where /proc's ticks count 10 ms and read a short, light step as zero."""
    return ((~pid) << 3) | 2  # 2: CPUCLOCK_SCHED, the scheduler's run time


class ServerProcess:
    """The server process's CPU time and memory, read from the OS by pid."""

    def __init__(self, pid: int) -> None:
        try:
            self.process = psutil.Process(pid)
            self.cpu_start = self._cpu_seconds()
            self.rss_start = self.rss_peak = self.process.memory_info().rss
        except psutil.Error as unreadable:
            raise ValueError(f"--server-pid {pid}: {unreadable}") from None
        self.started = time.monotonic()

    def _cpu_seconds(self) -> float:
        if sys.platform == "linux":
            return time.clock_gettime(linux_process_cpu_clock(self.process.pid))
        times = self.process.cpu_times()
        return times.user + times.system

    async def watch(self) -> None:
        """Track the peak resident memory until cancelled."""
        while True:
            await asyncio.sleep(SAMPLE_SECONDS)
            try:
                self.rss_peak = max(self.rss_peak, self.process.memory_info().rss)
            except psutil.Error:
                return

    def summary(self, frames_echoed: int) -> dict[str, Any]:
        mib = 1 << 20
        try:
            cpu = self._cpu_seconds() - self.cpu_start
            rss_end = self.process.memory_info().rss
        except psutil.Error as gone:
            return {"pid": self.process.pid, "error": str(gone)}
        wall = time.monotonic() - self.started
        return {
            "pid": self.process.pid,
            "cpu_s": round(cpu, 3),
            "cpu_percent": round(100 * cpu / wall, 1),
            "cpu_us_per_frame": round(1e6 * cpu / frames_echoed, 2)
            if frames_echoed
            else None,
            "rss_start_mib": round(self.rss_start / mib, 1),
            "rss_end_mib": round(rss_end / mib, 1),
            "rss_peak_mib": round(max(self.rss_peak, rss_end) / mib, 1),
        }
