"""Small client helpers for the live tests: what a real client sees on the wire."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import urllib.error
import urllib.request

import websockets

WAIT = 10  # seconds any single reply may take before a test fails


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=WAIT) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def info(server) -> dict:
    """The server's /api/info/."""
    return json.loads(get(f"{server.http_url}/api/info/")[2])


async def ready(ws) -> dict:
    message = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    assert message["type"] == "ready", message
    return message


async def messages_until_close(ws) -> tuple[list, int | None]:
    """Everything the server sends until it closes, and its close code.

    Text messages come back decoded from JSON. The code is None when the connection
    dropped without a close frame (what clients report as 1006).
    """
    received: list = []
    try:
        while True:
            message = await asyncio.wait_for(ws.recv(), WAIT)
            received.append(
                json.loads(message) if isinstance(message, str) else message
            )
    except websockets.ConnectionClosed as closed:
        return received, closed.rcvd.code if closed.rcvd else None


async def closing_error(url: str) -> tuple[dict, int | None]:
    """The one error a session gets at once, and the close code that follows it."""
    async with websockets.connect(url) as ws:
        (error,), code = await messages_until_close(ws)
    return error, code


def reset(ws) -> None:
    """Drop the TCP connection with a RST: no close frame, no FIN."""
    sock = ws.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ws.transport.abort()
