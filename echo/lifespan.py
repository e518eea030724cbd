"""The ASGI lifespan protocol: take SIGTERM over at startup (echo.shutdown), write
the remaining session records at shutdown.

Uvicorn ends its process by raising the SIGTERM it caught again, so ``atexit``
(where echo.records.flusher writes them under Daphne, which has no lifespan) never runs
there. Its lifespan shutdown comes after every connection has closed.
"""

from __future__ import annotations

import asyncio

from .records.flusher import FLUSHER
from .shutdown import DRAIN


async def lifespan(scope, receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            # Uvicorn has installed its signal handlers: the drain hands over to them.
            DRAIN.install(asyncio.get_running_loop())
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            # The database is blocking I/O: off the event loop.
            await asyncio.to_thread(FLUSHER.write_remaining)
            await send({"type": "lifespan.shutdown.complete"})
            return
