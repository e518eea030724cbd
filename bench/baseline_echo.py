"""The baseline of bench/capacity.py: the WebSocket echo a user might write instead
of wsaudio, with the websockets library on uvloop. No checks, no stats, no records:
one fixed ``ready`` (so that the project's load tester can drive it), then every
message goes straight back.

``python bench/baseline_echo.py`` listens on a free loopback port and prints it.
"""

import json
from urllib.parse import parse_qs, urlsplit

import uvloop
from websockets.asyncio.server import serve


async def echo(websocket) -> None:
    query = parse_qs(urlsplit(websocket.request.path).query)
    await websocket.send(json.dumps(
        {"type": "ready", "protocol": 1, "session": "baseline", "rate": 16384,
         "format": query.get("format", ["f32"])[0], "processor": "echo",
         "max_frame_samples": 16384}
    ))  # fmt: skip
    async for message in websocket:
        await websocket.send(message)


async def main() -> None:
    options = {"compression": None, "max_size": 1 << 20, "ping_interval": None}
    async with serve(echo, "127.0.0.1", 0, **options) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"baseline echo listening on 127.0.0.1:{port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main())
