"""Which handshakes the origin check lets through to a session."""

import pytest
from channels.testing import WebsocketCommunicator

from wsaudio_site.asgi import application


async def handshake(origin: bytes | None) -> bool:
    headers = [] if origin is None else [(b"origin", origin)]
    communicator = WebsocketCommunicator(application, "/ws/echo/16384/", headers)
    connected, _ = await communicator.connect()
    if connected:
        assert (await communicator.receive_json_from())["type"] == "ready"
    await communicator.disconnect()
    return connected


@pytest.mark.parametrize(
    "origin",
    [b"http://localhost:8000", b"https://127.0.0.1", b"http://[::1]:8000"],
)
async def test_pages_served_by_an_allowed_host_may_connect(origin):
    assert await handshake(origin)


@pytest.mark.parametrize(
    "origin",
    [
        b"http://evil.example",
        b"http://localhost.evil.example",
        b"null",
        b"",
        b"not a url",
        b"http://\xff",
    ],
)
async def test_pages_from_any_other_origin_are_refused(origin):
    assert not await handshake(origin)


async def test_a_handshake_without_origin_is_accepted_by_default():
    assert await handshake(None)


async def test_require_origin_refuses_a_handshake_without_origin(settings):
    settings.WSAUDIO_REQUIRE_ORIGIN = True
    assert not await handshake(None)
    assert await handshake(b"http://localhost:8000")


async def test_allowed_origins_replace_allowed_hosts_for_websockets(settings):
    settings.WSAUDIO_ALLOWED_ORIGINS = [".example.com"]
    assert await handshake(b"https://example.com")
    assert await handshake(b"https://app.example.com:8443")
    assert not await handshake(b"http://localhost:8000")
