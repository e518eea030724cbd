"""An echo server whose connections go as a test scripts them, one step per
handshake: a session that ends after so many frames in a given way (a server
shutting down, a close code, a dropped connection, the server gone for a while),
a refused handshake, a session refused with an error. After the last step every
connection is echoed until the client closes it. An empty frame gets ``bad_frame``; with
``processor=analysis`` each reply is followed by an ``analysis`` naming its frame."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

Ending = Callable[[ServerConnection], Awaitable[None]]


async def shutting_down(websocket: ServerConnection) -> None:
    """What a draining wsaudio server does."""
    await send_error(websocket, "shutting_down", "this server is shutting down")
    await websocket.close(4502)


async def dropped(websocket: ServerConnection) -> None:
    """No close frame: what a client of a killed process sees."""
    websocket.transport.abort()


def closed_with(code: int) -> Ending:
    async def close(websocket: ServerConnection) -> None:
        await websocket.close(code)

    return close


def error_then_close(error: str, code: int) -> Ending:
    async def close(websocket: ServerConnection) -> None:
        await send_error(websocket, error, f"scripted {error}")
        await websocket.close(code)

    return close


async def send_error(
    websocket: ServerConnection, code: str, detail: str, frame: int | None = None
) -> None:
    error = {"type": "error", "code": code, "detail": detail}
    if frame is not None:
        error["frame"] = frame
    await websocket.send(json.dumps(error))


@dataclass(frozen=True)
class Serve:
    """Echo ``answer`` frames, take ``swallow`` more with no reply, then ``end``;
    the server then stops listening for ``down`` seconds (connections refused)."""

    answer: int
    end: Ending
    swallow: int = 0
    down: float = 0.0


@dataclass(frozen=True)
class RefuseHandshake:
    status: int = HTTPStatus.SERVICE_UNAVAILABLE


@dataclass(frozen=True)
class RefuseSession:
    """An error in place of ``ready``, then the close, as for ``busy``."""

    error: str = "busy"
    code: int = 4503


Step = Serve | RefuseHandshake | RefuseSession


class ScriptedEchoServer:
    """Runs ``steps`` in order, one per handshake; records what each session got."""

    def __init__(self, *steps: Step) -> None:
        self.steps = deque(steps)
        self.handshakes = 0
        self.frames: list[list[bytes]] = []  # the binary messages of each session
        self.configures: list[list[dict]] = []  # the configure requests of each
        self.port = 0
        self._server: Server | None = None
        self._steps_of: dict[ServerConnection, Step | None] = {}
        self._downtimes: list[asyncio.Task] = []

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def sessions(self) -> int:
        return len(self.frames)

    async def __aenter__(self) -> ScriptedEchoServer:
        await self.listen()
        return self

    async def __aexit__(self, *exc_info) -> None:
        for downtime in self._downtimes:
            downtime.cancel()
        await asyncio.gather(*self._downtimes, return_exceptions=True)
        self._server.close()
        await self._server.wait_closed()

    async def listen(self) -> None:
        self._server = await serve(
            self._serve,
            "127.0.0.1",
            self.port,
            compression=None,
            process_request=self._handshake,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def go_down_for(self, seconds: float) -> None:
        """Stop listening (connections are refused), then listen again on the
        same port."""
        self._server.server.close()  # the listening socket only
        await asyncio.sleep(seconds)
        await self.listen()

    def _handshake(self, websocket: ServerConnection, request: Request) -> Response:
        self.handshakes += 1
        step = self.steps.popleft() if self.steps else None
        if isinstance(step, RefuseHandshake):
            return websocket.respond(step.status, "refused\n")
        self._steps_of[websocket] = step
        return None

    async def _serve(self, websocket: ServerConnection) -> None:
        step = self._steps_of.pop(websocket)
        if isinstance(step, RefuseSession):
            await error_then_close(step.error, step.code)(websocket)
            return
        rate = int(websocket.request.path.split("/")[3])
        await websocket.send(json.dumps(ready(rate)))
        frames, configures = [], []
        self.frames.append(frames)
        self.configures.append(configures)
        if step is not None and step.answer + step.swallow == 0:
            await self._end(websocket, step)
            return
        async for message in websocket:
            if isinstance(message, str):
                await self._control(websocket, json.loads(message), frames, configures)
                continue
            frames.append(message)
            if step is not None and len(frames) > step.answer:
                pass  # swallowed
            elif message:
                await websocket.send(message)
                if "processor=analysis" in websocket.request.path:
                    analysis = {"type": "analysis", "frame": len(frames) - 1}
                    await websocket.send(json.dumps(analysis))
            else:  # an empty frame, as the real server answers one
                await send_error(websocket, "bad_frame", "empty", len(frames) - 1)
            if step is not None and len(frames) == step.answer + step.swallow:
                await self._end(websocket, step)
                return

    async def _end(self, websocket: ServerConnection, step: Serve) -> None:
        await step.end(websocket)
        if step.down:
            self._downtimes.append(asyncio.create_task(self.go_down_for(step.down)))

    async def _control(
        self,
        websocket: ServerConnection,
        message: dict,
        frames: list[bytes],
        configures: list[dict],
    ) -> None:
        kind = message["type"]
        if kind == "configure":
            configures.append(message)
            answer = {
                "type": "configured",
                "id": message["id"],
                "processor": message["processor"],
                "options": message["options"],
            }
        elif kind == "ping":
            answer = {"type": "pong", "id": message.get("id")}
        elif kind == "stats":
            answer = {"type": "stats", "frames_in": len(frames)}
        else:
            return
        await websocket.send(json.dumps(answer))


def ready(rate: int) -> dict:
    return {
        "type": "ready",
        "protocol": 1,
        "session": str(uuid.uuid4()),
        "rate": rate,
        "format": "f32",
        "processor": "echo",
        "chain": [{"name": "echo", "options": {}}],
        "max_frame_samples": rate,
        "accepts": ["ping", "stats", "configure"],
        "limits": {},
    }
