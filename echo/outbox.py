"""A session's outgoing messages: sent in order, counted while the client lags,
and given up quietly once the connection is gone.

Servers differ in what their ASGI ``send`` does when a client stops reading. Uvicorn's
suspends until the connection takes data again; Daphne's never suspends (Twisted
buffers without bound). A consumer that awaited each send would stop reading its
client behind a stalled one, and could not tell how far behind that client is.

``Outbox.put`` starts each send at once and, when it completes without suspending
(always under Daphne, and under Uvicorn while the client reads), that is all: no
task, no queue, nothing per frame. When a send suspends, a writer task finishes it
and sends whatever was put meanwhile, in order, while ``unsent_samples`` says how
much audio waits. The session stays free to read, and can close a client that
lets too much pile up.

A send that fails means the connection is gone, whatever the server raises for it
(autobahn's ``Disconnected`` under Daphne; ``ClientDisconnected`` or a
``RuntimeError`` after the application's own close under Uvicorn; the ASGI spec asks
for an ``OSError``): that is how sessions end, not an error. From then on, and from
the moment the application puts its close, the outbox sends nothing more; every
message it does not send is handed to ``dropped``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from types import CoroutineType
from typing import Any

Message = dict[str, Any]

logger = logging.getLogger(__name__)


def ignore(message: Message) -> None:
    """The default ``dropped``: nothing to count."""


class Outbox:
    """The ASGI messages of one connection that are not sent yet."""

    __slots__ = ("send", "dropped", "waiting", "writer", "unsent_samples", "finished")

    def __init__(
        self,
        send: Callable[[Message], Awaitable[None]],
        dropped: Callable[[Message], None] = ignore,
    ) -> None:
        self.send = send
        self.dropped = dropped  # called for each message that will never go out
        # Messages the writer has not finished, in order: the first is being sent.
        self.waiting: deque[tuple[Message, int]] = deque()
        self.writer: asyncio.Task | None = None
        self.unsent_samples = 0  # audio in messages not yet taken by the server
        self.finished = False  # closed, or the connection is gone: nothing more

    def put(self, message: Message, samples: int = 0) -> None:
        """Send ``message`` (holding ``samples`` of audio) after those put before;
        dropped if the outbox is finished."""
        if self.finished:
            self.dropped(message)
        elif self.writer is not None:
            self.waiting.append((message, samples))
            self.unsent_samples += samples
        else:
            self._start(message, samples)

    def close(self, code: int) -> None:
        """Put the close with ``code`` (after everything put before); it is the
        last message this outbox sends."""
        # autobahn (under Daphne) refuses int subclasses such as IntEnum members.
        self.put({"type": "websocket.close", "code": int(code)})
        self.finished = True

    def drop_waiting(self) -> None:
        """Drop the messages not started yet (the one being sent goes on)."""
        while len(self.waiting) > 1:
            message, samples = self.waiting.pop()
            self.unsent_samples -= samples
            self.dropped(message)

    def cancel(self) -> None:
        """Stop sending, dropping what is left: the connection is gone."""
        self.finished = True
        if self.writer is not None:
            self.writer.cancel()
            self.writer = None
        self._drop_all()

    def _start(self, message: Message, samples: int) -> None:
        try:
            sending = self.send(message)
            if type(sending) is not CoroutineType:
                sending = awaiting(sending)  # a Future, or any other awaitable
            suspended_on = sending.send(None)
        except StopIteration:
            return  # sent without waiting: the usual case
        except Exception as error:
            self._connection_gone(message, error)
            return
        self.waiting.append((message, samples))
        self.unsent_samples = samples
        self.writer = asyncio.ensure_future(self._write(sending, suspended_on))

    async def _write(self, sending: Coroutine, suspended_on: Any) -> None:
        try:
            await finish(sending, suspended_on)
            while True:
                _, samples = self.waiting.popleft()
                self.unsent_samples -= samples
                if not self.waiting:
                    break
                await self.send(self.waiting[0][0])
        except Exception as error:
            self.writer = None
            self._connection_gone(self.waiting.popleft()[0], error)
        else:
            self.writer = None

    def _connection_gone(self, failed: Message, error: Exception) -> None:
        logger.debug("the connection is gone (%s: %s)", type(error).__name__, error)
        self.finished = True
        self.dropped(failed)
        self._drop_all()

    def _drop_all(self) -> None:
        while self.waiting:
            self.dropped(self.waiting.popleft()[0])
        self.unsent_samples = 0


async def awaiting(awaitable: Awaitable[None]) -> None:
    """``awaitable`` as a coroutine, which ``Outbox`` can start by hand."""
    await awaitable


async def finish(coroutine: Coroutine, suspended_on: Any) -> None:
    """Run ``coroutine``, started by hand and suspended on ``suspended_on`` (what
    it yielded: a future, or None for a bare yield), to its end.

    This is what an asyncio task does with each step of its coroutine; Python 3.12
    calls starting a coroutine this way an eager task.
    """
    try:
        while True:
            if suspended_on is None:
                await asyncio.sleep(0)
            else:
                # The flag a future raises when it is yielded, for the task that
                # takes it to lower; awaiting it again with the flag up fails.
                suspended_on._asyncio_future_blocking = False
                try:
                    await suspended_on
                except Exception:
                    pass  # the coroutine reads the future's outcome when resumed
            suspended_on = coroutine.send(None)
    except StopIteration:
        return
    finally:
        coroutine.close()  # ends it at its suspension point if this was cancelled
