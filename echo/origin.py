"""Refuse WebSocket handshakes from web pages on hosts this deployment does not serve.

Browsers always send ``Origin``, so a missing header means a script or a service,
which cross-site request forgery cannot drive; those are accepted unless
``WSAUDIO_REQUIRE_ORIGIN`` is on. Channels' ``AllowedHostsOriginValidator`` refuses
them, which would lock out every non-browser client.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from .sessions.stats import REFUSED


def allowed_origin_hosts() -> list[str]:
    """Host patterns (as in ALLOWED_HOSTS) that browser pages may connect from."""
    return settings.WSAUDIO_ALLOWED_ORIGINS or settings.ALLOWED_HOSTS


def origin_allowed(origin: bytes | None) -> bool:
    """Whether a handshake with this ``Origin`` header (None: absent) may go on."""
    if origin is None:
        return not settings.WSAUDIO_REQUIRE_ORIGIN
    try:
        netloc = urlsplit(origin.decode("ascii")).netloc
    except (UnicodeDecodeError, ValueError):
        return False
    host, _port = split_domain_port(netloc)
    return bool(host) and validate_host(host, allowed_origin_hosts())


class OriginCheck:
    """ASGI middleware: a WebSocket from a foreign origin gets HTTP 403."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        origin = dict(scope.get("headers", ())).get(b"origin")
        if origin_allowed(origin):
            return await self.application(scope, receive, send)
        REFUSED["origin"] += 1
        return await WebsocketDenier()(scope, receive, send)
