"""A session's outgoing messages: sent in order, counted while the client lags.

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
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

Message = dict[str, Any]

logger = logging.getLogger(__name__)


class Outbox:
    """The ASGI messages of one connection that are not sent yet."""

    __slots__ = ("send", "waiting", "writer", "unsent_samples")

    def __init__(self, send: Callable[[Message], Awaitable[None]]) -> None:
        self.send = send
        self.waiting: deque[tuple[Message, int]] = deque()
        self.writer: asyncio.Task | None = None
        self.unsent_samples = 0  # audio in messages not yet taken by the server

    def put(self, message: Message, samples: int = 0) -> None:
        """Send ``message`` (holding ``samples`` of audio) after those put before.

        Errors of a send that completes at once are raised here, as an awaited
        send would raise them.
        """
        if self.writer is not None:
            self.waiting.append((message, samples))
            self.unsent_samples += samples
            return
        sending = self.send(message)
        try:
            suspended_on = sending.send(None)  # type: ignore[attr-defined]
        except StopIteration:
            return  # sent without waiting: the usual case
        self.unsent_samples = samples
        self.writer = asyncio.ensure_future(
            self._write(sending, suspended_on, samples)  # type: ignore[arg-type]
        )

    def drop_waiting(self) -> list[Message]:
        """Forget the messages not started yet (the one being sent goes on)."""
        dropped = [message for message, _ in self.waiting]
        self.unsent_samples -= sum(samples for _, samples in self.waiting)
        self.waiting.clear()
        return dropped

    def cancel(self) -> None:
        """Stop sending: the connection is gone."""
        self.waiting.clear()
        if self.writer is not None:
            self.writer.cancel()

    async def _write(self, sending: Coroutine, suspended_on: Any, samples: int) -> None:
        try:
            await finish(sending, suspended_on)
            self.unsent_samples -= samples
            while self.waiting:
                message, samples = self.waiting.popleft()
                await self.send(message)
                self.unsent_samples -= samples
        except OSError:
            pass  # the connection failed; its disconnect reaches the consumer
        except Exception:
            logger.exception("sending to a client failed")
        finally:
            self.waiting.clear()
            self.unsent_samples = 0
            self.writer = None


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
