"""Session records in the database, written by one flusher per process.

The audio path only counts (echo.sessions.stats). The consumer registers a session
when it sends ``ready`` and hands over its end when it closes; everything else
happens here on a timer: every ``WSAUDIO_METRICS_FLUSH_SECONDS`` the rows of the
sessions that are new or changed are built on the event loop (about 5 µs each,
from counters only the loop touches, 50 sessions at a time between frames), then
written in one transaction on a thread of the flusher's own. So a slow or failing
database never delays a frame, and never queues behind or ahead of Channels'
shared sync thread. A failed write is logged once and retried, with every row it
held, at the next tick.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ipaddress
import logging
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DataError, IntegrityError, close_old_connections, connections
from django.utils import timezone

from ..models import SessionRecord
from ..protocol import CloseCode
from ..sessions.session import AudioSession
from .rows import Row
from .services import session_records_save

logger = logging.getLogger(__name__)

# Final rows kept while the database is down; beyond this the oldest are dropped
# (and counted), so an outage cannot grow the process without bound.
MAX_UNSAVED_FINAL_ROWS = 100_000
# Sessions whose rows are built in one go before frames get their turn again.
COLLECT_CHUNK = 50
# The close code of a server going down for a restart (RFC 6455, IANA registry).
SERVICE_RESTART = 1012

EndedBy = SessionRecord.EndedBy
WORKER_HOST = socket.gethostname()


@dataclass(eq=False, slots=True)
class SessionRecorder:
    """The consumer's handle on one session's record."""

    flusher: MetricsFlusher
    session: AudioSession
    started_at: datetime
    client_ip: str | None
    session_key: str | None  # the browser's Django session, to find its user
    ended_by: str = ""
    close_code: int | None = None
    close_error: str = ""
    ended_at: datetime | None = None
    written: tuple | None = None  # activity() when its row was last written

    def server_closed(self, close_code: int, error_code: str) -> None:
        """The server closes the session with ``close_code`` after ``error_code``."""
        if not self.ended_by:
            self.ended_by, self.close_code, self.close_error = (
                EndedBy.SHUTDOWN
                if close_code == CloseCode.SHUTTING_DOWN  # echo.shutdown's drain
                else EndedBy.SERVER,
                close_code,
                error_code,
            )

    def finish(self, disconnect_code: int | None, *, draining: bool = False) -> None:
        """The session is over; ``disconnect_code`` is what ``websocket.disconnect``
        carried (None when the application was cancelled, which a process that is
        ``draining`` does once its grace runs out). Safe to repeat."""
        self.flusher.finish(self, disconnect_code, draining)

    def activity(self) -> tuple:
        """Changes whenever the record would: any frame, error or client report."""
        stats = self.session.stats
        return (
            stats.bytes_in,
            stats.frames_out,
            stats.errors,
            self.session.client_reports,
            self.ended_at,
        )

    def row(self, now: datetime) -> Row:
        """The record as of ``now`` (or as of its end): values in RECORD_FIELDS
        order, and the browser session whose user to look up on a first write."""
        session, stats = self.session, self.session.stats
        params, client, levels = session.params, session.client_stats, stats.levels
        values = (
            session.id,
            self.started_at,
            self.ended_at,
            ((self.ended_at or now) - self.started_at).total_seconds(),
            params.rate,
            params.format.name,
            params.processor,
            session.chain.describe(),
            stats.frames_in,
            stats.frames_out,
            stats.bytes_in,
            stats.bytes_out,
            stats.samples_in / params.rate,
            stats.bad_frames,
            stats.nonfinite_samples,
            stats.rate_limited_frames,
            stats.errors,
            levels.peak_dbfs,
            levels.rms_dbfs,
            stats.proc_us_mean,
            stats.proc_us_p99,
            stats.proc_us_max,
            session.chain.cost,
            stats.proc_ns_total / 1e9,
            client.get("rtt_ms_p50"),
            client.get("rtt_ms_p95"),
            client.get("buffered_ms"),
            client.get("underruns"),
            client.get("overruns"),
            self.ended_by,
            self.close_code,
            self.close_error,
            WORKER_HOST,
            os.getpid(),  # read each time: a server may fork after import
            self.client_ip,
        )
        return values, self.session_key if self.written is None else None


class MetricsFlusher:
    """Keeps this process's session records and writes them on a timer."""

    def __init__(self, save: Callable[[list[Row]], None]) -> None:
        self.save = save  # blocking; runs on the flusher's thread
        self.open: set[SessionRecorder] = set()
        self.final_rows: dict[str, Row] = {}  # by session id: ended, not yet written
        self.failing = False  # the last write failed (logged once per outage)
        self.dropped = 0  # final rows given up during a long outage
        # The latest successful write: rows, and milliseconds spent building them on
        # the event loop and writing them on the flusher's thread.
        self.last_flush = {"rows": 0, "collect_ms": 0.0, "write_ms": 0.0}
        self._executor: ThreadPoolExecutor | None = None
        self._timer: asyncio.Task | None = None
        self._one_at_a_time = asyncio.Lock()

    def track(
        self,
        session: AudioSession,
        *,
        client_ip: str | None = None,
        session_key: str | None = None,
    ) -> SessionRecorder:
        """Start keeping ``session``'s record; call on the event loop."""
        recorder = SessionRecorder(
            self, session, timezone.now(), client_ip, session_key
        )
        self.open.add(recorder)
        self._keep_timer_running()
        return recorder

    def finish(
        self,
        recorder: SessionRecorder,
        disconnect_code: int | None,
        draining: bool = False,
    ) -> None:
        if recorder not in self.open:
            return
        self.open.remove(recorder)
        if not recorder.ended_by:
            if not (type(disconnect_code) is int and 0 <= disconnect_code <= 0xFFFF):
                disconnect_code = None  # not a WebSocket close code
            # Uvicorn closes every session with 1012 (service restart) when it
            # shuts down, and tells the application so; Daphne cancels it.
            shutdown = disconnect_code == SERVICE_RESTART or (
                disconnect_code is None and draining
            )
            ended_by = EndedBy.SHUTDOWN if shutdown else EndedBy.CLIENT
            recorder.ended_by, recorder.close_code = ended_by, disconnect_code
        recorder.ended_at = timezone.now()
        self._keep_final(recorder.row(recorder.ended_at))

    def _keep_final(self, row: Row) -> None:
        self.final_rows[row[0][0]] = row
        if len(self.final_rows) > MAX_UNSAVED_FINAL_ROWS:
            del self.final_rows[next(iter(self.final_rows))]  # the oldest
            if not self.dropped:
                logger.error(
                    "metrics: the database has been unwritable for %d sessions; "
                    "dropping the oldest unsaved records",
                    MAX_UNSAVED_FINAL_ROWS,
                )
            self.dropped += 1

    async def flush(self) -> int:
        """Write every session that is new or changed now; the rows written."""
        async with self._one_at_a_time:  # rows reach the database in order
            return await self._flush()

    async def _flush(self) -> int:
        now = timezone.now()
        rows: list[Row] = []
        changed: list[tuple[SessionRecorder, tuple]] = []
        collect_seconds = 0.0
        recorders = list(self.open)
        for start in range(0, len(recorders), COLLECT_CHUNK):
            began = time.perf_counter()
            for recorder in recorders[start : start + COLLECT_CHUNK]:
                key = recorder.activity()
                if key != recorder.written:
                    rows.append(recorder.row(now))
                    changed.append((recorder, key))
            collect_seconds += time.perf_counter() - began
            await asyncio.sleep(0)  # frames that arrived meanwhile go first
        finals = list(self.final_rows.items())  # after: an end just handed over wins
        rows += [row for _, row in finals]
        if not rows:
            return 0
        collected = time.perf_counter()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="wsaudio-metrics")
        writing = asyncio.get_running_loop().run_in_executor(
            self._executor, self._save_in_thread, rows
        )
        try:
            # Shielded: a cancelled flush leaves its write to finish, not half-known.
            written = await asyncio.shield(writing)
        except Exception:
            if not self.failing:
                logger.exception(
                    "metrics: could not write %d session record(s); retrying every "
                    "%g s until the database takes them",
                    len(rows),
                    settings.WSAUDIO_METRICS_FLUSH_SECONDS,
                )
            self.failing = True
            return 0
        self.last_flush = {
            "rows": written,
            "collect_ms": round(collect_seconds * 1000, 3),
            "write_ms": round((time.perf_counter() - collected) * 1000, 3),
        }
        for recorder, key in changed:
            recorder.written = key
        for uuid, row in finals:
            if self.final_rows.get(uuid) is row:
                del self.final_rows[uuid]
        if self.failing:
            self.failing = False
            logger.warning("metrics: the database takes records again")
        return written

    def _save_in_thread(self, rows: list[Row]) -> int:
        """Write ``rows``; the number written."""
        close_old_connections()  # drop a connection broken by an earlier failure
        try:
            self.save(rows)
            return len(rows)
        except (DataError, IntegrityError):
            # A row the database refuses must not hold back every other forever:
            # write them one by one and give up only on the refused ones.
            written = 0
            for row in rows:
                try:
                    self.save([row])
                    written += 1
                except (DataError, IntegrityError):
                    logger.exception("metrics: record %s refused; dropped", row[0][0])
            return written
        finally:
            close_old_connections()

    def _keep_timer_running(self) -> None:
        loop = asyncio.get_running_loop()
        timer = self._timer
        if timer is None or timer.done() or timer.get_loop() is not loop:
            self._timer = loop.create_task(self._flush_on_timer())

    async def _flush_on_timer(self) -> None:
        while True:
            await asyncio.sleep(settings.WSAUDIO_METRICS_FLUSH_SECONDS)
            try:
                await self.flush()
            except Exception:  # a bug here must not stop the records for good
                logger.exception("metrics: flush failed")

    def write_remaining(self) -> None:
        """At process exit: write every record now, open sessions as cut short."""
        for recorder in list(self.open):
            recorder.ended_by = recorder.ended_by or EndedBy.SHUTDOWN
            self.finish(recorder, None)
        rows = list(self.final_rows.values())
        if not rows:
            return
        try:
            self._save_in_thread(rows)
        except Exception:
            logger.exception("metrics: %d session records were lost at exit", len(rows))
        else:
            self.final_rows.clear()

    def close(self) -> None:
        """Stop the thread, closing its database connections (tests use this)."""
        timer = self._timer
        if timer is not None and not timer.done() and not timer.get_loop().is_closed():
            timer.cancel()
        if self._executor is not None:
            self._executor.submit(connections.close_all).result()
            self._executor.shutdown()
            self._executor = None


def save_records(rows: list[Row]) -> None:
    session_records_save(rows=rows)


FLUSHER = MetricsFlusher(save_records)
atexit.register(lambda: FLUSHER.write_remaining())


def record_session(session: AudioSession, scope: dict) -> SessionRecorder | None:
    """Start the record of a session that got ``ready``; None when records are off."""
    if not settings.WSAUDIO_STORE_METRICS:
        return None
    client = scope.get("client")
    client_ip = None
    if client and settings.WSAUDIO_STORE_CLIENT_IP:
        with contextlib.suppress(ValueError):  # a Unix socket's name, say
            client_ip = str(ipaddress.ip_address(client[0]))
    return FLUSHER.track(
        session,
        client_ip=client_ip,
        session_key=scope.get("cookies", {}).get(settings.SESSION_COOKIE_NAME),
    )
