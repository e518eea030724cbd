"""What a page put on its WebSockets, as Playwright saw it on the wire."""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.sync_api import Page, WebSocket


@dataclass
class Socket:
    """One WebSocket's messages in order: bytes for binary, str for text."""

    url: str
    sent: list[bytes | str] = field(default_factory=list)
    received: list[bytes | str] = field(default_factory=list)
    closed: bool = False

    @property
    def binary_sent(self) -> list[bytes]:
        return [m for m in self.sent if isinstance(m, bytes)]

    @property
    def binary_received(self) -> list[bytes]:
        return [m for m in self.received if isinstance(m, bytes)]


def record_websockets(page: Page) -> list[Socket]:
    """The sockets ``page`` opens from now on; the list fills as they are opened.

    Playwright delivers the events while a sync call waits, so read the list only
    after waiting for the page (a socket's ``close`` comes after its last frame).
    """
    sockets: list[Socket] = []

    def opened(ws: WebSocket) -> None:
        socket = Socket(ws.url)
        sockets.append(socket)
        # Playwright tags each handler with an attribute: no bound builtins here.
        ws.on("framesent", lambda payload: socket.sent.append(payload))
        ws.on("framereceived", lambda payload: socket.received.append(payload))
        ws.on("close", lambda _: setattr(socket, "closed", True))

    page.on("websocket", opened)
    return sockets
