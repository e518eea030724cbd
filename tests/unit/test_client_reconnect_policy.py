"""The reconnect policy backs off by doubling up to its cap, with jitter that only
shortens a delay; it retries exactly the ends that a server going causes, and
names each cause and gap the way the reports print them."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsaudio_client import errors
from wsaudio_client.errors import HandshakeFailed, ServerError, SessionClosed
from wsaudio_client.reconnect import (
    Gap,
    Reconnect,
    cause,
    frame_runs,
    may_be_admitted_later,
    server_went,
)


def test_delays_double_from_the_first_up_to_the_cap():
    policy = Reconnect(first_delay=0.1, max_delay=2.0, jitter=0.5)
    delays = [policy.delay(attempt, draw=0.0) for attempt in range(1, 9)]
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0])


def test_jitter_takes_off_at_most_its_share_of_a_delay():
    policy = Reconnect(first_delay=1.0, max_delay=1.0, jitter=0.25)
    assert policy.delay(1, draw=0.0) == 1.0
    assert policy.delay(1, draw=0.5) == pytest.approx(0.875)
    assert policy.delay(1, draw=0.999999) == pytest.approx(0.75)


@given(
    attempt=st.integers(1, 100_000),
    draw=st.floats(0, 1, exclude_max=True),
    jitter=st.floats(0, 1),
)
def test_every_delay_lies_between_its_jittered_floor_and_the_cap(attempt, draw, jitter):
    policy = Reconnect(first_delay=0.05, max_delay=3.0, jitter=jitter)
    full = min(3.0, 0.05 * 2.0 ** min(attempt - 1, 64))
    assert full * (1 - jitter) - 1e-12 <= policy.delay(attempt, draw) <= full


def test_without_jitter_every_client_waits_the_same():
    policy = Reconnect(jitter=0)
    assert {policy.delay(3, draw) for draw in (0.0, 0.3, 0.9)} == {0.4}


@pytest.mark.parametrize(
    "settings",
    [
        {"first_delay": -0.1},
        {"first_delay": 3.0, "max_delay": 2.0},
        {"jitter": 1.5},
        {"jitter": -0.1},
        {"deadline": 0},
    ],
)
def test_a_policy_out_of_bounds_is_refused(settings):
    with pytest.raises(ValueError):
        Reconnect(**settings)


def error(code: str) -> ServerError:
    return ServerError.from_message({"type": "error", "code": code, "detail": ""})


@pytest.mark.parametrize(
    ("ended", "went"),
    [
        (error("shutting_down"), True),
        (SessionClosed(None), True),  # no close frame
        (SessionClosed(1006), True),
        (SessionClosed(1001), True),  # going away
        (SessionClosed(1012), True),  # service restart: Uvicorn's shutdown
        (SessionClosed(4502), True),
        (SessionClosed(1000), False),
        (SessionClosed(1011), False),
        (SessionClosed(4001), False),  # an operator ended it: never automatically
        (error("bad_request"), False),
        (error("frame_too_large"), False),
        (error("too_many_errors"), False),
        (error("too_many_messages"), False),
        (error("idle_timeout"), False),
        (error("processing_failed"), False),
        (error("processing_behind"), False),
        (error("not_reading"), False),
        (error("busy"), False),  # a session is never ended busy
        (error("a_code_from_the_future"), False),
    ],
)
def test_only_a_server_going_ends_a_session_for_a_reconnect(ended, went):
    assert server_went(ended) is went


@pytest.mark.parametrize(
    ("failed", "retried"),
    [
        (HandshakeFailed("refused", status=503), True),  # Uvicorn draining
        (HandshakeFailed("refused", status=403), True),  # Daphne draining
        (HandshakeFailed("connection refused"), True),
        (HandshakeFailed("no ready within 10 s"), True),
        (error("busy"), True),
        (error("shutting_down"), True),
        (SessionClosed(None), True),
        (error("bad_request"), False),
        (SessionClosed(4001), False),
        (errors.UnexpectedMessage("no ready"), False),
    ],
)
def test_an_attempt_is_made_again_unless_its_refusal_would_repeat(failed, retried):
    assert may_be_admitted_later(failed) is retried


@pytest.mark.parametrize(
    ("failed", "key"),
    [
        (error("shutting_down"), "shutting_down"),
        (error("busy"), "busy"),
        (SessionClosed(None), "dropped"),
        (SessionClosed(1012), "close_1012"),
        (HandshakeFailed("refused", status=503), "http_503"),
        (HandshakeFailed("connection refused"), "unreachable"),
        (errors.UnexpectedMessage("no ready"), "UnexpectedMessage"),
    ],
)
def test_each_cause_has_a_short_key(failed, key):
    assert cause(failed) == key


@pytest.mark.parametrize(
    ("frames", "runs"),
    [
        ((), []),
        ((7,), [[7, 7]]),
        ((3, 4, 5, 9), [[3, 5], [9, 9]]),
        ((1, 3, 5), [[1, 1], [3, 3], [5, 5]]),
    ],
)
def test_lost_frames_are_reported_as_runs(frames, runs):
    assert frame_runs(frames) == runs


def test_a_gap_counts_the_unanswered_and_the_void_apart():
    gap = Gap(
        cause="shutting_down",
        lost=(10, 11, 12, 13, 14),
        unanswered=2,
        resumed_at=15,
        seconds=1.23456,
        attempts=3,
        refusals={"unreachable": 2},
        old_session="a",
        new_session="b",
    )
    assert (gap.frames_lost, gap.into_the_void) == (5, 3)
    assert gap.summary() == {
        "cause": "shutting_down",
        "frames_lost": 5,
        "unanswered": 2,
        "into_the_void": 3,
        "lost_frames": [[10, 14]],
        "resumed_at": 15,
        "seconds": 1.235,
        "attempts": 3,
        "refusals": {"unreachable": 2},
        "old_session": "a",
        "new_session": "b",
    }
