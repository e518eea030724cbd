"""The WebSocket consumer: glue between the connection and an AudioSession."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from time import monotonic
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from .conf import processor_registry, server_config
from .outbox import Outbox
from .processing import Lane, processing_pool
from .protocol import ErrorCode, ProtocolError, encode_message, error_message
from .records.flusher import SessionRecorder, record_session
from .sessions.limits import PROCESSING, SESSIONS
from .sessions.session import AudioSession, Frame
from .sessions.stats import REFUSED
from .shutdown import DRAIN

logger = logging.getLogger(__name__)


class EchoConsumer(AsyncWebsocketConsumer):
    """Serves ``ws/echo/<rate>/``: one AudioSession per connection."""

    session: AudioSession | None = None
    seated = False  # holds one of the process's SESSIONS seats
    budgeted: float | None = None  # its cost, while it holds it in PROCESSING
    idle_watch: asyncio.Task | None = None
    recorder: SessionRecorder | None = None  # None when records are off
    outbox: Outbox | None = None  # every message to the client, in order
    lane: Lane | None = None  # a heavy chain's frames, through the processing threads

    async def __call__(self, scope, receive, send) -> None:
        """Channels' consumer loop, less what the audio path does not use.

        Channels also listens on the channel layer, through asyncio.wait and a new
        task for every message, which costs more per frame than the frame itself;
        nothing reaches a session through the channel layer, so this one reads the
        server's messages one after another, straight from ``receive``.
        """
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            self.leave()  # also when Daphne cancels an application that outstays

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels awaits close_old_connections() on the one shared sync thread
        # before every handler, so a slow query there (a /healthz, say) would hold
        # up frames and handshakes alike. This consumer never touches the database
        # (echo.records.flusher writes records on a thread of its own): no hop, ever.
        kind = message["type"]
        if kind == "websocket.receive":
            # Nothing more is processed once the session closes or its client is
            # gone: what arrived meanwhile gets no reply and is not counted.
            if self.session is not None and not self.outbox.finished:
                frame = message.get("bytes")
                if self.lane is not None:
                    self.receive_for_lane(frame, message.get("text"))
                elif frame is not None:
                    self.receive_frame(frame)
                else:
                    self.receive_text(message["text"])
            return
        if kind == "websocket.disconnect":
            self.leave(message.get("code"))  # before anything awaits
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {kind}")
        await handler(message)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections here, a hop to the shared
        # sync thread at every disconnect (a fifth of the server's CPU when
        # sessions come and go); this consumer has none to close.
        raise StopConsumer

    async def connect(self) -> None:
        if DRAIN.draining:
            await self.refuse_handshake()
            return
        self.outbox = Outbox(self.base_send, self.reply_dropped)
        self.outbox.put({"type": "websocket.accept"})
        if self.outbox.finished:
            return  # the client left during the handshake
        config = server_config()
        scope = self.scope
        try:
            session = AudioSession.open(
                config,
                scope["url_route"]["kwargs"]["rate"],
                scope["query_string"],
                monotonic(),
                processor_registry(),
            )
            SESSIONS.admit(config.max_sessions)
            self.seated = True
            if session.heavy:
                PROCESSING.admit(session.chain.cost, config.processing_budget)
                self.budgeted = session.chain.cost
        except ProtocolError as error:
            self.give_back_seat()
            REFUSED[str(error.code)] += 1
            self.send_error(error)
            return
        if session.heavy:
            pool = processing_pool(settings.WSAUDIO_PROCESSING_THREADS)
            self.lane = Lane(pool, session.run_chain_timed, self.frame_processed)
        self.session = session
        self.recorder = record_session(session, scope)
        self.idle_watch = asyncio.create_task(self.close_when_idle())
        DRAIN.join(self)
        self.send_text(encode_message(session.ready()))

    async def refuse_handshake(self) -> None:
        """While the process drains: HTTP 503 where the server lets the application
        answer the handshake (Uvicorn), else the 403 of a close before accept."""
        REFUSED["shutting_down"] += 1
        if "websocket.http.response" not in self.scope.get("extensions", {}):
            await self.base_send({"type": "websocket.close"})
            return
        await self.base_send(
            {
                "type": "websocket.http.response.start",
                "status": 503,
                "headers": [(b"content-type", b"text/plain"), (b"retry-after", b"1")],
            }
        )
        await self.base_send(
            {"type": "websocket.http.response.body", "body": b"shutting down\n"}
        )

    def shut_down(self) -> None:
        """The process is going (echo.shutdown): ``shutting_down`` and 4502, after
        the replies of the frames a heavy chain still holds."""
        if self.outbox.finished or (self.lane is not None and self.lane.closing):
            return  # closing already
        error = ProtocolError(
            ErrorCode.SHUTTING_DOWN,
            "this server is shutting down: reconnect, possibly to another server",
        )
        if self.lane is not None:
            self.lane.close_with(partial(self.send_error, error))
        else:
            self.send_error(error)

    def leave(self, disconnect_code: int | None = None) -> None:
        """Give the seat back, stop watching for idleness, drop the replies that
        will never go out and hand the record its end; safe to repeat."""
        if self.outbox is not None:
            self.outbox.cancel()
        self.stop_processing()
        self.give_back_seat()
        if self.idle_watch is not None:
            self.idle_watch.cancel()
        if self.recorder is not None:
            self.recorder.finish(disconnect_code, draining=DRAIN.draining)
        DRAIN.leave(self)

    def receive_frame(self, frame: bytes) -> None:
        """The hot path: one binary message in, its reply (or error) out."""
        try:
            self.send_reply(self.session.process_frame(frame, monotonic()))
        except ProtocolError as error:
            self.send_error(error)

    def send_reply(self, reply: bytes) -> None:
        """Put a frame's reply and its analysis messages; raise not_reading."""
        session, outbox = self.session, self.outbox
        samples = len(reply) // session.params.format.width
        session.stats.reply_sent(len(reply))  # until the outbox drops it
        outbox.put({"type": "websocket.send", "bytes": reply}, samples)
        if outbox.writer is not None:  # the client is behind: how far?
            if error := session.backlog_error(outbox.unsent_samples):
                outbox.drop_waiting()
                raise error
        if session.reports_analysis:
            for message in session.take_analysis():
                self.send_text(encode_message(message))

    def receive_for_lane(self, frame: bytes | None, text: str | None) -> None:
        """A heavy session's message: counted and checked as it arrives, and
        answered in its turn, after the frames before it."""
        session, lane = self.session, self.lane
        if lane.closing:
            return  # its closing error waits behind its frames: nothing more counts
        try:
            if frame is None:
                session.count_message(monotonic())
                lane.then(partial(self.receive_text_counted, text))
            else:
                accepted = session.accept_frame(frame, monotonic())
                lane.submit(accepted, accepted.samples.size)
        except ProtocolError as error:
            if error.close_code is None:
                lane.then(partial(self.send_error, error))
            else:
                lane.close_with(partial(self.send_error, error))
        behind = session.processing_behind_error(
            lane.waiting_samples, lane.waiting_steps
        )
        if behind is not None:
            self.stop_processing()  # no reply for what waits, or for what runs
            self.send_error(behind)

    def frame_processed(self, frame: Frame, done: asyncio.Future) -> None:
        """A heavy chain's output for ``frame``, back on the loop, in turn."""
        try:
            processed, chain_ns = done.result()
            self.send_reply(self.session.reply(frame, processed, chain_ns))
        except ProtocolError as error:
            self.send_error(error)

    def stop_processing(self) -> None:
        """Drop a heavy session's waiting work and give its cost back; idempotent."""
        if self.lane is not None:
            self.lane.stop()
        if self.budgeted is not None:
            PROCESSING.release(self.budgeted)
            self.budgeted = None

    def give_back_seat(self) -> None:
        if self.seated:
            self.seated = False
            SESSIONS.release()

    def receive_text(self, text: str) -> None:
        try:
            self.session.count_message(monotonic())
        except ProtocolError as error:
            self.send_error(error)
            return
        self.receive_text_counted(text)

    def receive_text_counted(self, text: str) -> None:
        try:
            answer = self.session.answer_counted(text)
            if answer is not None:
                self.send_text(encode_message(answer))
        except ProtocolError as error:
            self.send_error(error)

    async def close_when_idle(self) -> None:
        """Sleep until the session could be idle; wakes once per quiet period."""
        session = self.session
        timeout = session.config.idle_timeout
        while not self.outbox.finished:
            now = monotonic()
            if (error := session.idle_error(now)) is not None:
                self.send_error(error)
                return
            await asyncio.sleep(session.last_message + timeout - now)

    def reply_dropped(self, message: dict[str, Any]) -> None:
        """A message the outbox will never send: a reply is no longer counted."""
        if (reply := message.get("bytes")) is not None:
            self.session.stats.reply_dropped(len(reply))

    def send_text(self, text: str) -> None:
        self.outbox.put({"type": "websocket.send", "text": text})

    def send_error(self, error: ProtocolError) -> None:
        """Send ``error`` (and what follows it), then close if the protocol says so."""
        session = self.session
        if error.__cause__ is not None:  # a fault on the server's side
            logger.error(
                "session %s, frame %s: %s",
                session.id if session else "-",
                error.frame,
                error.detail,
                exc_info=error.__cause__,
            )
        errors = session.errors_to_send(error) if session else [error]
        close_code = errors[-1].close_code
        if close_code is not None and self.recorder is not None:
            self.recorder.server_closed(close_code, errors[-1].code)
        for each in errors:
            self.send_text(encode_message(error_message(each)))
        if close_code is not None:
            self.outbox.close(close_code)
            self.stop_processing()  # frees its pool work and budget at once
