"""An echo server that speaks just enough of protocol v1 and misbehaves on purpose:
it drops and corrupts the binary messages it is told to, in every connection."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection

from websockets.asyncio.server import Server, ServerConnection, serve

RATE_LIMITS = {"max_realtime_factor": 4.0}


class FaultyEchoServer:
    """Echoes binary message ``i`` of each connection unless ``i`` is in ``drop``
    (no reply at all) or in ``corrupt`` (a bit flipped in byte ``corrupt_byte``,
    the middle one by default)."""

    def __init__(
        self,
        *,
        drop: Collection[int] = (),
        corrupt: Collection[int] = (),
        corrupt_byte: int | None = None,
    ):
        self.drop = frozenset(drop)
        self.corrupt = frozenset(corrupt)
        self.corrupt_byte = corrupt_byte
        self.server: Server | None = None

    @property
    def url(self) -> str:
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"ws://{host}:{port}"

    async def __aenter__(self) -> FaultyEchoServer:
        self.server = await serve(self.serve, "127.0.0.1", 0, compression=None)
        return self

    async def __aexit__(self, *exc_info) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def serve(self, websocket: ServerConnection) -> None:
        rate = int(websocket.request.path.split("/")[3])
        await websocket.send(
            json.dumps(
                {
                    "type": "ready",
                    "protocol": 1,
                    "session": str(uuid.uuid4()),
                    "rate": rate,
                    "format": "f32",
                    "processor": "echo",
                    "max_frame_samples": rate,
                    "accepts": ["ping"],
                    "limits": RATE_LIMITS,
                }
            )
        )
        index = 0
        async for message in websocket:
            if isinstance(message, str):
                continue
            if index in self.corrupt:
                at = self.corrupt_byte
                if at is None:
                    at = len(message) // 2
                flipped = bytes([message[at] ^ 0x01])
                message = message[:at] + flipped + message[at + 1 :]
            if index not in self.drop:
                await websocket.send(message)
            index += 1
