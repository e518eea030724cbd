"""Draining shutdown: on SIGTERM, every session is told to reconnect before the
process goes.

Left to themselves the servers drop sessions without a word: on SIGTERM Daphne
cancels every application (its clients see 1006), and Uvicorn closes every socket
with 1012 before the lifespan shutdown runs. So this process takes SIGTERM itself,
once the server has installed its own handler (Daphne's when Twisted's reactor
runs, see wsaudio_site.asgi; Uvicorn's before the lifespan startup, see
echo.lifespan), and keeps that handler to hand over to. On SIGTERM it refuses new
sessions, sends every open one ``shutting_down`` and closes it with 4502, waits for
them to close, writes the records, lets the HTTP requests in flight finish, and
only then passes the signal on to the server, which ends the process as it always
did. All within ``WSAUDIO_SHUTDOWN_GRACE`` seconds: the grace running out, or a
second SIGTERM, hands over at once.

The HTTP requests matter under Daphne: it stops its event loop once it has
cancelled every application, and a Django request cancelled halfway, on a thread
that waits for that loop to run the next middleware, then holds the process's exit
forever (concurrent.futures joins its threads at exit).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from typing import Any, Protocol

from django.conf import settings

from .records import flusher

logger = logging.getLogger(__name__)


class Drainable(Protocol):
    def shut_down(self) -> None:
        """Send ``shutting_down`` and close with 4502, after what is owed."""


class Drain:
    """This process's shutdown, from the SIGTERM that starts it to the hand-over."""

    def __init__(self) -> None:
        self.draining = False  # refuse new sessions; /healthz answers 503
        self.sessions: set[Drainable] = set()  # open sessions, from their ready on
        self._installed = False
        self._previous: Any = None  # the server's SIGTERM handler, until handed over
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._all_closed: asyncio.Event | None = None
        self.http_closed = False  # HTTP requests get 503 without reaching Django
        self._http_in_flight = 0
        self._http_done: asyncio.Event | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Take SIGTERM over from the server, for sessions served on ``loop``;
        safe to repeat.

        Only the main thread may set signal handlers (``runserver`` with its
        reloader serves from another): there the server's own handling stays.
        """
        if self._installed:
            return
        self._installed = True
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)
        if previous in (signal.SIG_IGN, None):  # ignored, or not set from Python
            return
        self._loop = loop
        self._previous = previous
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def join(self, session: Drainable) -> None:
        self.sessions.add(session)

    def leave(self, session: Drainable) -> None:
        self.sessions.discard(session)
        if not self.sessions and self._all_closed is not None:
            self._all_closed.set()

    def http(self, application: Any) -> Any:
        """Django's ASGI application, with its requests in flight counted."""

        async def counted(scope: dict, receive: Any, send: Any) -> None:
            if self.http_closed:
                await send_unavailable(send)
                return
            self._http_in_flight += 1
            try:
                await application(scope, receive, send)
            finally:
                self._http_in_flight -= 1
                if not self._http_in_flight and self._http_done is not None:
                    self._http_done.set()

        return counted

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        # A signal handler may interrupt the loop anywhere: only schedule.
        self._loop.call_soon_threadsafe(self.begin)

    def begin(self) -> asyncio.Task:
        """What SIGTERM does, on the loop: start draining, or, when draining
        already, hand over now. The drain's task."""
        if self._task is None:
            self.draining = True
            self._task = asyncio.get_running_loop().create_task(self._drain())
        else:
            self._task.cancel()
        return self._task

    async def _drain(self) -> None:
        started = time.monotonic()
        grace = settings.WSAUDIO_SHUTDOWN_GRACE
        self._all_closed = asyncio.Event()
        told = len(self.sessions)
        logger.info("SIGTERM: closing %d session(s) with 4502 within %g s", told, grace)
        for session in list(self.sessions):
            session.shut_down()
        if not self.sessions:
            self._all_closed.set()
        try:
            async with asyncio.timeout(grace):
                await self._all_closed.wait()
                if settings.WSAUDIO_STORE_METRICS:
                    await flusher.FLUSHER.flush()
                self.http_closed = True
                self._http_done = asyncio.Event()
                if self._http_in_flight:
                    await self._http_done.wait()
            logger.info(
                "drained %d session(s) in %.2f s", told, time.monotonic() - started
            )
        except TimeoutError:
            logger.warning(
                "the %g s grace ran out with %d session(s) still open",
                grace,
                len(self.sessions),
            )
        except asyncio.CancelledError:
            logger.warning(
                "a second SIGTERM: stopping with %d session(s) still open",
                len(self.sessions),
            )
        finally:
            self._hand_over()

    def _hand_over(self) -> None:
        """Give SIGTERM back to the server's handler and let it end the process
        (what it leaves open then, its own shutdown closes)."""
        previous, self._previous = self._previous, None
        if previous is None:
            return  # not installed: nothing to hand over to
        signal.signal(signal.SIGTERM, previous)
        if previous is signal.SIG_DFL:
            signal.raise_signal(signal.SIGTERM)
        else:
            previous(signal.SIGTERM, None)


async def send_unavailable(send: Any) -> None:
    """The answer to any HTTP request in a drain's last moments."""
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")],
        }
    )
    await send(
        {
            "type": "http.response.body",
            "body": b'{"status": "unavailable", "draining": true}',
        }
    )


DRAIN = Drain()
