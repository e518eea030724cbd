"""Every session limit of docs/protocol.md on an AudioSession, with a given clock."""

import numpy as np
import pytest

from echo.protocol import ErrorCode, ProtocolError, ServerConfig
from echo.sessions.session import AudioSession

RATE = 8000
FRAME = np.zeros(800, dtype="<f4").tobytes()  # 100 ms


def open_session(now: float = 0.0, **limits) -> AudioSession:
    return AudioSession.open(ServerConfig(**limits), str(RATE), b"", now)


def refused(call, *args) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        call(*args)
    return caught.value


def test_messages_beyond_the_per_second_rate_end_the_session():
    session = open_session(max_messages_per_second=5)
    for i in range(5):
        session.process_frame(FRAME, i * 0.001)
    error = refused(session.answer, '{"type": "ping"}', 0.005)
    assert (error.code, error.close_code, error.frame) == (
        ErrorCode.TOO_MANY_MESSAGES,
        4429,
        None,
    )


def test_the_message_bucket_holds_one_second_and_refills_at_the_rate():
    session = open_session(max_messages_per_second=5)
    for _ in range(5):
        session.answer('{"type": "ping"}', 0.0)
    session.answer('{"type": "ping"}', 0.2)  # one message's worth came back
    refused(session.answer, '{"type": "ping"}', 0.2)


def test_the_message_rate_is_checked_before_the_frame_itself():
    session = open_session(max_messages_per_second=1)
    session.process_frame(FRAME, 0.0)
    assert refused(session.process_frame, b"\x00", 0.0).code is (
        ErrorCode.TOO_MANY_MESSAGES
    )


def test_a_frame_too_large_is_refused_before_the_audio_rate_is_checked():
    session = open_session(max_frame_seconds=0.1, burst_seconds=0.1)
    session.process_frame(FRAME, 0.0)  # the bucket is empty now
    error = refused(session.process_frame, FRAME + b"\x00" * 4, 0.0)
    assert (error.code, error.frame) == (ErrorCode.FRAME_TOO_LARGE, 1)


def test_audio_beyond_the_burst_is_dropped_with_its_index_and_the_total():
    session = open_session(burst_seconds=0.2, max_realtime_factor=1.0)
    session.process_frame(FRAME, 0.0)
    session.process_frame(FRAME, 0.0)
    first = refused(session.process_frame, FRAME, 0.0)
    second = refused(session.process_frame, FRAME, 0.0)
    assert (first.code, first.close_code) == (ErrorCode.RATE_LIMITED, None)
    assert (first.frame, first.fields) == (2, {"dropped": 1})
    assert (second.frame, second.fields) == (3, {"dropped": 2})
    assert session.process_frame(FRAME, 0.1) == FRAME  # 100 ms of audio came back
    assert session.stats.rate_limited_frames == 2
    assert session.stats.frames_in == 3
    assert session.stats.bytes_in == 5 * len(FRAME)


def test_a_client_at_exactly_the_realtime_factor_is_never_limited():
    session = open_session(burst_seconds=0.1, max_realtime_factor=4.0)
    period = 0.1 / 4.0  # 100 ms of audio every 25 ms
    for i in range(2000):
        assert session.process_frame(FRAME, i * period) == FRAME
    assert session.stats.rate_limited_frames == 0


def test_a_realtime_factor_of_zero_disables_the_audio_limit():
    session = open_session(burst_seconds=0.1, max_realtime_factor=0.0)
    for _ in range(400):
        session.process_frame(FRAME, 0.0)
    assert session.stats.frames_in == 400


def test_the_last_counted_error_is_followed_by_too_many_errors():
    session = open_session(max_errors=3)
    bad = refused(session.process_frame, b"\x00", 0.0)
    assert session.errors_to_send(bad) == [bad]
    assert session.errors_to_send(bad) == [bad]
    final = session.errors_to_send(bad)
    assert final[0] is bad
    assert (final[1].code, final[1].close_code, final[1].frame) == (
        ErrorCode.TOO_MANY_ERRORS,
        4429,
        None,
    )
    assert session.stats.errors == 4


def test_bad_messages_count_toward_the_budget_and_other_errors_do_not():
    session = open_session(max_errors=2, burst_seconds=0.1, max_realtime_factor=1.0)
    session.process_frame(FRAME, 0.0)
    limited = refused(session.process_frame, FRAME, 0.0)
    for _ in range(5):
        assert session.errors_to_send(limited) == [limited]
    bad_message = refused(session.answer, "nope", 0.0)
    assert session.errors_to_send(bad_message) == [bad_message]
    assert len(session.errors_to_send(bad_message)) == 2


def test_any_message_keeps_the_session_from_idling_out():
    session = open_session(idle_timeout=10.0)
    assert session.idle_error(9.9) is None
    session.answer('{"type": "stats"}', 9.9)
    assert session.idle_error(19.8) is None
    refused(session.process_frame, b"", 19.8)  # even a bad frame is a message
    assert session.idle_error(29.7) is None
    error = session.idle_error(29.8)
    assert (error.code, error.close_code, error.frame) == (
        ErrorCode.IDLE_TIMEOUT,
        4408,
        None,
    )


def test_replies_waiting_beyond_max_pending_seconds_of_audio_close_with_4509():
    session = open_session(max_pending_seconds=2.5)
    assert session.backlog_error(20_000) is None  # exactly 2.5 s at 8000 Hz
    error = session.backlog_error(20_001)
    assert (error.code, error.close_code, error.frame) == (
        ErrorCode.NOT_READING,
        4509,
        None,
    )
    assert "2.5 seconds" in error.detail
