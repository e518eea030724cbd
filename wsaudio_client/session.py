"""One wsaudio session over the ``websockets`` asyncio client: connect, wait for
``ready``, send frames and control messages, receive replies in order, change the
chain's options."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from .errors import (
    HandshakeFailed,
    ServerError,
    SessionClosed,
    UnexpectedMessage,
    WsaudioError,
)
from .reconnect import Reconnect
from .reconnecting_session import ReconnectingSession
from .wire import (
    DEFAULT_RATE,
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    CloseCode,
    ErrorCode,
    Ready,
    decode_frame,
    encode_frame,
    encode_message,
    session_url,
)

READY_SECONDS = 10.0  # how long the server may take to answer a handshake
CLOSE_SECONDS = 10.0  # how long to wait for the close that follows a closing error


@dataclass(frozen=True, slots=True)
class Reply:
    """The server's binary reply to binary message number ``frame``."""

    frame: int
    data: bytes
    format: str

    def samples(self) -> np.ndarray:
        """The reply as float32 samples in [-1, 1] at the session rate."""
        return decode_frame(self.data, self.format)


class Session:
    """A session that got ``ready``; made by ``connect``.

    Replies come back from ``receive`` (or ``async for``) in order, each as a
    ``Reply`` naming the frame it answers; control messages such as ``pong``,
    ``stats`` and ``analysis`` come back as dicts. An ``error`` raises its
    ``ServerError`` subclass: for those that leave the session open
    (``closes_session`` is False) the caller may go on receiving.

    ``configure`` may run while another task waits in ``receive``: whichever of the
    two reads the answer hands it to ``configure``, and what ``configure`` reads
    before its answer waits, in order, for ``receive``.
    """

    def __init__(self, websocket: ClientConnection, ready: Ready) -> None:
        self.websocket = websocket
        self.ready = ready
        self.frames_sent = 0  # binary messages sent: the server's frame index
        self._unanswered: deque[int] = deque()  # frames with no reply or error yet
        # What configure read on its way to its answer, for receive to return.
        self._held: deque[Reply | dict[str, Any] | WsaudioError] = deque()
        self._answers: dict[int, asyncio.Future] = {}  # configure id -> its answer
        self._configure_ids = itertools.count(1)
        self._reading = False  # a task is reading the socket (one at a time)
        self._read_done: asyncio.Future | None = None  # made when a task waits

    @property
    def unanswered(self) -> int:
        """Frames sent that have had neither a reply nor an error yet."""
        return len(self._unanswered)

    @property
    def unanswered_frames(self) -> tuple[int, ...]:
        """The indexes of those frames, in order."""
        return tuple(self._unanswered)

    async def send(self, frame: np.ndarray | bytes) -> int:
        """Send one frame (float samples, or bytes already in the session's
        format); return its index, which replies and errors refer to."""
        if not isinstance(frame, bytes | bytearray | memoryview):
            frame = encode_frame(frame, self.ready.format)
        index = self.frames_sent
        self.frames_sent += 1
        self._unanswered.append(index)
        try:
            await self.websocket.send(frame)
        except ConnectionClosed as closed:
            raise _session_closed(closed) from None
        return index

    async def send_control(self, message: dict[str, Any]) -> None:
        """Send a control message (a JSON object with a ``type``)."""
        try:
            await self.websocket.send(encode_message(message))
        except ConnectionClosed as closed:
            raise _session_closed(closed) from None

    async def ping(self, id: Any = None) -> None:
        """Ask for a ``pong``; it comes back through ``receive`` with this ``id``."""
        await self.send_control({"type": "ping", "id": id})

    async def request_stats(self) -> None:
        """Ask for the server's ``stats``; they come back through ``receive``."""
        await self.send_control({"type": "stats"})

    async def configure(self, processor: str, /, **options: Any) -> dict[str, Any]:
        """Give ``processor`` of the chain new option values from the next frame on
        (``configure("gain", db=-12)``); return the server's ``configured`` answer,
        whose ``options`` hold every option's current value.

        Raise ``BadMessage`` when the server refuses the change (the session and
        every old value stay), and the session's error when it ends meanwhile.
        """
        if "configure" not in self.ready.accepts:
            raise WsaudioError("this server does not accept configure (ready.accepts)")
        request = next(self._configure_ids)
        answer = asyncio.get_running_loop().create_future()
        self._answers[request] = answer
        try:
            await self.send_control(
                {
                    "type": "configure",
                    "id": request,
                    "processor": processor,
                    "options": options,
                }
            )
            while not answer.done():
                if self._reading:  # another task reads: it will hand the answer on
                    await self._read_over(answer)
                    continue
                try:
                    message = await self._read()
                except WsaudioError as error:
                    message = error  # receive raises it in its turn
                if message is not None:
                    self._held.append(message)
        finally:
            del self._answers[request]
        result = answer.result()
        if isinstance(result, WsaudioError):
            raise result
        return result

    async def receive(self) -> Reply | dict[str, Any]:
        """The next reply or control message; raise on ``error`` and on close."""
        while True:
            while self._reading:
                await self._read_over()
            if self._held:
                held = self._held.popleft()
                if isinstance(held, WsaudioError):
                    raise held
                return held
            message = await self._read()
            if message is not None:
                return message

    def __aiter__(self) -> AsyncIterator[Reply | dict[str, Any]]:
        return self

    async def __anext__(self) -> Reply | dict[str, Any]:
        try:
            return await self.receive()
        except SessionClosed as closed:
            if closed.close_code == CloseCode.NORMAL:
                raise StopAsyncIteration from None
            raise

    async def close(self, code: int = CloseCode.NORMAL) -> None:
        await self.websocket.close(code)

    async def _read(self) -> Reply | dict[str, Any] | None:
        """The next message off the socket; None for an answer to ``configure``,
        which goes to the call waiting for it instead."""
        self._reading = True
        try:
            try:
                message = await self.websocket.recv()
            except ConnectionClosed as closed:
                raise self._ended(_session_closed(closed)) from None
            if isinstance(message, bytes):
                if not self._unanswered:
                    raise UnexpectedMessage("a binary reply arrived with no frame sent")
                return Reply(self._unanswered.popleft(), message, self.ready.format)
            decoded = _parse_json(message)
            kind = decoded.get("type")
            if kind == "error":
                error = await self._error(decoded)
                if error.closes_session:
                    raise self._ended(error)
                answer = self._waiting_for(decoded)
                if error.code != ErrorCode.BAD_MESSAGE or answer is None:
                    raise error
                answer.set_result(error)
                return None
            if kind == "configured" and (answer := self._waiting_for(decoded)):
                answer.set_result(decoded)
                return None
            return decoded
        finally:
            self._reading = False
            if self._read_done is not None:
                self._read_done.set_result(None)
                self._read_done = None

    async def _read_over(self, *or_done: asyncio.Future) -> None:
        """Wait until the task reading the socket has its message (or until one of
        ``or_done`` is done)."""
        if self._read_done is None:
            self._read_done = asyncio.get_running_loop().create_future()
        await asyncio.wait(
            {self._read_done, *or_done}, return_when=asyncio.FIRST_COMPLETED
        )

    def _waiting_for(self, message: dict[str, Any]) -> asyncio.Future | None:
        """The answer a ``configure`` call waits for, if ``message`` is it."""
        request = message.get("id")
        answer = self._answers.get(request) if type(request) is int else None
        return answer if answer is not None and not answer.done() else None

    def _ended(self, error: WsaudioError) -> WsaudioError:
        """``error`` ends the session: it is the answer of every configure waiting."""
        for answer in self._answers.values():
            if not answer.done():
                answer.set_result(error)
        return error

    async def _error(self, message: dict[str, Any]) -> ServerError:
        error = await _server_error(self.websocket, message)
        if error.frame is not None:
            if self._unanswered and self._unanswered[0] == error.frame:
                self._unanswered.popleft()  # always so: errors come in frame order
            elif error.frame in self._unanswered:
                self._unanswered.remove(error.frame)
        return error


@asynccontextmanager
async def connect(
    server: str,
    rate: int = DEFAULT_RATE,
    *,
    format: str | None = None,
    processor: str | None = None,
    options: Mapping[str, Any] | None = None,
    reconnect: Reconnect | None = None,
    **websocket_options: Any,
) -> AsyncIterator[Session | ReconnectingSession]:
    """Open a session on ``server`` (its base URL, such as ws://127.0.0.1:8000).

    ``processor`` is a chain such as ``"highpass,gain"``, ``options`` its values by
    query key, such as ``{"gain.db": -6}``. Returns once ``ready`` has arrived; a
    refused session raises its error (for example ``BadRequest`` or ``Busy``, with
    ``close_code`` set), an unreachable server ``HandshakeFailed``. The session
    closes with 1000 on leaving the block. ``websocket_options`` go to
    ``websockets.asyncio.client.connect``.

    With ``reconnect`` (a ``Reconnect`` policy) the block gets a
    ``ReconnectingSession``, which opens a new session on the same URL when the
    server goes and carries on; the first session is opened as without it.
    """
    url = session_url(server, rate, format=format, processor=processor, options=options)
    session = await open_session(url, **websocket_options)
    if reconnect is None:
        try:
            yield session
        finally:
            await session.websocket.close()
        return
    following = ReconnectingSession(
        session, lambda: open_session(url, **websocket_options), reconnect
    )
    try:
        yield following
    finally:
        await following.aclose()


async def open_session(url: str, **websocket_options: Any) -> Session:
    """A session on the session URL ``url`` that got ``ready``; the caller closes
    it. Raises as ``connect`` does."""
    defaults = {"compression": None, "max_size": MAX_MESSAGE_BYTES}
    try:
        websocket = await websocket_connect(url, **(defaults | websocket_options))
    except InvalidStatus as refused:
        status = refused.response.status_code
        raise HandshakeFailed(
            f"{url} refused the WebSocket handshake with HTTP {status}", status=status
        ) from None
    except (OSError, TimeoutError, InvalidHandshake) as failed:
        raise HandshakeFailed(f"cannot open {url}: {failed}") from None
    try:
        return Session(websocket, await _ready(websocket))
    except BaseException:
        await websocket.close()
        raise


async def _ready(websocket: ClientConnection) -> Ready:
    try:
        async with asyncio.timeout(READY_SECONDS):
            message = await websocket.recv()
    except TimeoutError:
        raise HandshakeFailed(f"no ready within {READY_SECONDS:g} s") from None
    except ConnectionClosed as closed:
        raise _session_closed(closed) from None
    if isinstance(message, bytes):
        raise UnexpectedMessage("the server's first message is binary, not ready")
    decoded = _parse_json(message)
    if decoded.get("type") == "error":
        raise await _server_error(websocket, decoded)
    if decoded.get("type") != "ready":
        raise UnexpectedMessage(f"the server's first message is not ready: {message}")
    if decoded.get("protocol") != PROTOCOL_VERSION:
        raise UnexpectedMessage(
            f"the server speaks protocol {decoded.get('protocol')!r}; "
            f"this client speaks {PROTOCOL_VERSION}"
        )
    return Ready.from_message(decoded)


async def _server_error(
    websocket: ClientConnection, message: dict[str, Any]
) -> ServerError:
    """The exception for an ``error`` message, with the close code that follows
    it when it ends the session."""
    error = ServerError.from_message(message)
    if error.closes_session:
        error.close_code = await _close_code(websocket)
    return error


async def _close_code(websocket: ClientConnection) -> int | None:
    """The code of the close that follows a closing error; None if it does not
    come within CLOSE_SECONDS or the connection drops."""
    try:
        async with asyncio.timeout(CLOSE_SECONDS):
            while True:  # only another error may come first (too_many_errors)
                await websocket.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None


def _parse_json(text: str) -> dict[str, Any]:
    try:
        message = json.loads(text)
    except ValueError:
        raise UnexpectedMessage(
            f"the server sent text that is not JSON: {text[:80]}"
        ) from None
    if not isinstance(message, dict):
        raise UnexpectedMessage(f"the server sent JSON that is not an object: {text}")
    return message


def _session_closed(closed: ConnectionClosed) -> SessionClosed:
    return SessionClosed(closed.rcvd.code if closed.rcvd else None)
