"""The client's copy of protocol v1 agrees with the server's, and the client
package runs without Django."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from echo import protocol
from wsaudio_client import errors, wire
from wsaudio_client.errors import ServerError

from ..live.server import ROOT

ECHO_CHAIN = [{"name": "echo", "options": {}}]


def test_error_codes_close_codes_and_constants_match_the_server():
    assert {c.name: str(c) for c in wire.ErrorCode} == {
        c.name: str(c) for c in protocol.ErrorCode
    }
    assert {c.name: int(c) for c in wire.CloseCode} == {
        c.name: int(c) for c in protocol.CloseCode
    }
    assert {str(e): int(c) for e, c in wire.CLOSING_ERRORS.items()} == {
        str(e): int(c) for e, c in protocol._CLOSING_ERRORS.items()
    }
    assert wire.PROTOCOL_VERSION == protocol.PROTOCOL_VERSION
    assert wire.MAX_MESSAGE_BYTES == protocol.MAX_MESSAGE_BYTES
    assert wire.DEFAULT_RATE == protocol.ServerConfig().default_rate
    assert {name: dtype for name, dtype in wire.FORMATS.items()} == {
        name: fmt.dtype for name, fmt in protocol.FORMATS.items()
    }


def test_every_error_code_has_its_own_exception_class():
    assert set(errors.ERRORS) == {str(code) for code in protocol.ErrorCode}
    for code, cls in errors.ERRORS.items():
        assert cls.code == code and issubclass(cls, ServerError)


samples = hnp.arrays(
    np.float32,
    st.integers(1, 64),
    elements=st.floats(-2, 2, width=32, allow_nan=False),
)


@given(samples)
@pytest.mark.parametrize("name", ["f32", "s16"])
def test_the_client_encodes_exactly_as_the_server_does(name, block):
    ours = wire.encode_frame(block, name)
    assert ours == protocol.encode_frame(block, protocol.FORMATS[name])
    assert np.array_equal(
        wire.decode_frame(ours, name),
        protocol.decode_frame(ours, protocol.FORMATS[name]),
    )


def test_the_ready_the_server_sends_is_read_in_full():
    params = protocol.SessionParams(16384, protocol.S16, "echo")
    config = protocol.ServerConfig()
    message = protocol.ready_message(
        session="abc", params=params, config=config, chain=ECHO_CHAIN
    )
    ready = wire.Ready.from_message(message)
    assert (ready.session, ready.rate, ready.format, ready.processor) == (
        "abc",
        16384,
        "s16",
        "echo",
    )
    assert ready.max_frame_samples == 16384
    assert ready.accepts == protocol.CONTROL_TYPES
    assert ready.limits == message["limits"]
    assert ready.max_realtime_factor == config.max_realtime_factor


def test_a_realtime_factor_of_zero_means_no_limit():
    params = protocol.SessionParams(8000, protocol.F32, "echo")
    config = protocol.ServerConfig(max_realtime_factor=0)
    message = protocol.ready_message(
        session="x", params=params, config=config, chain=ECHO_CHAIN
    )
    assert wire.Ready.from_message(message).max_realtime_factor is None


@pytest.mark.parametrize(
    ("server", "url"),
    [
        ("ws://127.0.0.1:8000", "ws://127.0.0.1:8000/ws/echo/16384/"),
        ("http://127.0.0.1:8000/", "ws://127.0.0.1:8000/ws/echo/16384/"),
        ("https://example.com/audio", "wss://example.com/audio/ws/echo/16384/"),
    ],
)
def test_the_session_url_is_built_from_the_servers_base_url(server, url):
    assert wire.session_url(server, 16384) == url


def test_the_session_url_carries_only_the_parameters_given():
    url = wire.session_url("ws://h", 8000, format="s16", processor="echo")
    assert url == "ws://h/ws/echo/8000/?format=s16&processor=echo"
    assert wire.session_url("ws://h", 8000, format="s16") == (
        "ws://h/ws/echo/8000/?format=s16"
    )


@pytest.mark.parametrize("server", ["ftp://h", "127.0.0.1:8000", "ws://"])
def test_a_server_that_is_not_a_websocket_or_http_url_is_refused(server):
    with pytest.raises(ValueError, match="is not a ws://"):
        wire.session_url(server, 16384)


def test_an_error_message_becomes_its_exception_with_every_member():
    error = ServerError.from_message(
        {
            "type": "error",
            "code": "rate_limited",
            "frame": 212,
            "dropped": 3,
            "detail": "too fast",
        }
    )
    assert isinstance(error, errors.RateLimited)
    assert (error.code, error.frame, error.detail) == ("rate_limited", 212, "too fast")
    assert error.fields == {"dropped": 3}
    assert not error.closes_session
    assert str(error) == "rate_limited (frame 212): too fast"


def test_an_error_code_this_client_does_not_know_is_still_a_server_error():
    error = ServerError.from_message(
        {"type": "error", "code": "from_a_later_version", "detail": "new"}
    )
    assert type(error) is ServerError
    assert error.code == "from_a_later_version"
    assert not error.closes_session  # unknown: the close that follows will tell


def test_the_client_package_imports_no_django():
    modules = "wsaudio_client, wsaudio_client.__main__, wsaudio_client.loadtest"
    check = f"import sys, {modules}; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", check], cwd=ROOT, check=True)
