"""The WebSocket consumer: glue between the connection and an AudioSession."""

from __future__ import annotations

import logging
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from .conf import server_config
from .protocol import ProtocolError, encode_message, error_message
from .session import AudioSession

logger = logging.getLogger(__name__)


class EchoConsumer(AsyncWebsocketConsumer):
    """Serves ``ws/echo/<rate>/``: one AudioSession per connection."""

    session: AudioSession | None = None
    closing = False

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels awaits close_old_connections() on the one shared sync thread
        # before every handler; database work queued there would hold up audio.
        # Received messages never touch the database, so they skip that hop.
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

    async def connect(self) -> None:
        await self.accept()
        config = server_config()
        scope = self.scope
        try:
            self.session = AudioSession.open(
                config, scope["url_route"]["kwargs"]["rate"], scope["query_string"]
            )
        except ProtocolError as error:
            await self.send_error(error)
            return
        await self.send(text_data=encode_message(self.session.ready(config)))

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        session = self.session
        if session is None or self.closing:
            return
        try:
            if bytes_data is not None:
                reply = session.process_frame(bytes_data)
                await self.send(bytes_data=reply)
                session.stats.reply_sent(len(reply))
            else:
                await self.send(text_data=encode_message(session.answer(text_data)))
        except ProtocolError as error:
            await self.send_error(error)

    async def send_error(self, error: ProtocolError) -> None:
        """Send ``error``, then close if the protocol says it ends the session."""
        session = self.session
        if (
            error.__cause__ is not None
        ):  # a fault on the server's side, not the client's
            logger.error(
                "session %s, frame %s: %s",
                session.id if session else "-",
                error.frame,
                error.detail,
                exc_info=error.__cause__,
            )
        if session is not None:
            session.stats.errors += 1
        await self.send(text_data=encode_message(error_message(error)))
        if error.close_code is not None:
            self.closing = True
            # autobahn (under Daphne) refuses int subclasses such as IntEnum members.
            await self.close(code=int(error.close_code))
