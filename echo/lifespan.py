"""The ASGI lifespan protocol: write the remaining session records at shutdown.

Uvicorn ends its process by raising the SIGTERM it caught again, so ``atexit``
(where echo.records.flusher writes them under Daphne, which has no lifespan) never runs
there. Its lifespan shutdown comes after every connection has closed.
"""

from __future__ import annotations

import asyncio

from .records.flusher import FLUSHER


async def lifespan(scope, receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            # The database is blocking I/O: off the event loop.
            await asyncio.to_thread(FLUSHER.write_remaining)
            await send({"type": "lifespan.shutdown.complete"})
            return
