"""The echo command refuses, before sending anything, a pace or frame size that
the server's limits in ``ready`` would punish."""

import pytest

from echo import protocol
from wsaudio_client.__main__ import EXIT_USAGE, main
from wsaudio_client.stream_file import _check_limits
from wsaudio_client.wire import Ready

ECHO_CHAIN = [{"name": "echo", "options": {}}]


def ready(**config) -> Ready:
    params = protocol.SessionParams(16384, protocol.F32, "echo")
    message = protocol.ready_message(
        session="s",
        params=params,
        config=protocol.ServerConfig(**config),
        chain=ECHO_CHAIN,
    )
    return Ready.from_message(message)


def test_real_time_with_the_usual_frames_is_within_every_limit():
    _check_limits(ready(), 1024, 1.0)
    _check_limits(ready(), 1024, 4.0)  # exactly max_realtime_factor


def test_faster_than_the_realtime_factor_is_refused():
    with pytest.raises(ValueError, match="max_realtime_factor 4"):
        _check_limits(ready(), 1024, 4.5)


def test_with_no_realtime_factor_any_speed_within_the_message_rate_goes():
    _check_limits(ready(max_realtime_factor=0), 16384, 100.0)


def test_frames_longer_than_the_server_takes_are_refused():
    with pytest.raises(ValueError, match="max_frame_samples"):
        _check_limits(ready(), 16385, 1.0)


def test_frames_so_short_they_break_the_message_rate_are_refused():
    # 16 samples at 16384 Hz are 1024 messages a second; the server takes 500.
    with pytest.raises(ValueError, match="1024 messages a second"):
        _check_limits(ready(), 16, 1.0)
    _check_limits(ready(), 64, 1.0)  # 256 a second


def test_the_command_names_a_file_it_cannot_read_and_exits_2(tmp_path, capsys):
    missing = tmp_path / "missing.wav"
    assert main(["echo", str(missing), "--server", "ws://127.0.0.1:9"]) == EXIT_USAGE
    assert f"Error opening '{missing}'" in capsys.readouterr().err
