"""The token bucket and the process's seat count, with an explicit clock."""

import pytest

from echo.protocol import ErrorCode, ProtocolError
from echo.sessions.limits import SessionSeats, TokenBucket


def test_a_bucket_starts_full_and_refuses_what_it_does_not_hold():
    bucket = TokenBucket(capacity=10, per_second=5, now=0.0)
    assert bucket.take(10, now=0.0)
    assert not bucket.take(1, now=0.0)


def test_a_refusal_spends_nothing():
    bucket = TokenBucket(capacity=10, per_second=5, now=0.0)
    assert not bucket.take(11, now=0.0)
    assert bucket.take(10, now=0.0)


def test_a_bucket_refills_at_its_rate_up_to_its_capacity():
    bucket = TokenBucket(capacity=10, per_second=5, now=0.0)
    assert bucket.take(10, now=0.0)
    assert not bucket.take(3, now=0.5)  # 2.5 tokens back
    assert bucket.take(3, now=0.6)  # 3.0
    assert bucket.take(10, now=100.0)  # full again, not 500
    assert not bucket.take(1, now=100.0)


def test_taking_exactly_the_refill_rate_forever_never_runs_dry():
    bucket = TokenBucket(capacity=2 * 16384, per_second=16384, now=0.0)
    period = 1024 / 16384
    assert all(bucket.take(1024, now=i * period) for i in range(100_000))


def test_seats_are_refused_at_the_maximum_and_given_back():
    seats = SessionSeats()
    seats.admit(2)
    seats.admit(2)
    with pytest.raises(ProtocolError) as caught:
        seats.admit(2)
    assert (caught.value.code, caught.value.close_code) == (ErrorCode.BUSY, 4503)
    assert seats.taken == 2
    seats.release()
    seats.admit(2)
    assert seats.taken == 2
