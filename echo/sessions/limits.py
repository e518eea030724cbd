"""The building blocks of session limits: a token bucket and the process's seat count.

Pure: no Django, no I/O, no clock of its own. Callers pass ``now`` (monotonic
seconds), so a limit costs a few arithmetic operations per message and never a timer.
"""

from __future__ import annotations

from ..protocol import ErrorCode, ProtocolError

# Arrivals are judged to the microsecond, so a client that keeps exactly to the
# allowed pace is never refused over a rounding error in its clock arithmetic.
CLOCK_TOLERANCE = 1e-6


class TokenBucket:
    """Holds up to ``capacity`` tokens, refilled at ``per_second``; starts full."""

    __slots__ = ("capacity", "per_second", "tokens", "updated")

    def __init__(self, capacity: float, per_second: float, now: float) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.tokens = capacity
        self.updated = now

    def take(self, amount: float, now: float) -> bool:
        """Spend ``amount`` tokens if the bucket holds them; False leaves it as is."""
        tokens = self.tokens + (now - self.updated) * self.per_second
        if tokens > self.capacity:
            tokens = self.capacity
        self.updated = now
        if amount > tokens + CLOCK_TOLERANCE * self.per_second:
            self.tokens = tokens
            return False
        self.tokens = tokens - amount
        return True


class SessionSeats:
    """How many sessions this process holds, against a maximum checked at admission.

    Single-threaded by design: every consumer of a process runs on one event loop.
    """

    def __init__(self) -> None:
        self.taken = 0

    def admit(self, maximum: int) -> None:
        """Take a seat for a new session; raise ``busy`` when all are taken."""
        if self.taken >= maximum:
            raise ProtocolError(
                ErrorCode.BUSY,
                f"this server holds its maximum of {maximum} sessions; "
                "retry later, with backoff",
            )
        self.taken += 1

    def release(self) -> None:
        self.taken -= 1


# This process's sessions: the consumers admit and release, /api/info/ reports.
SESSIONS = SessionSeats()


class ProcessingBudget:
    """The CPU-seconds per second of audio that this process's heavy sessions
    declared, against a budget checked at admission (echo.processors: ``cost``).

    Single-threaded by design, like SessionSeats; light chains never come here.
    """

    def __init__(self) -> None:
        self.in_use = 0.0
        self.sessions = 0

    def admit(self, cost: float, budget: float) -> None:
        """Count a heavy session's cost; raise ``busy`` if it would pass ``budget``."""
        if self.in_use + cost > budget + CLOCK_TOLERANCE:
            raise ProtocolError(
                ErrorCode.BUSY,
                f"the processing budget of this server is spent: its heavy sessions "
                f"use {self.in_use:.3g} of {budget:g} CPU-seconds per second and this "
                f"chain needs {cost:.3g}; retry later, with backoff, or use a lighter "
                "chain",
            )
        self.in_use += cost
        self.sessions += 1

    def release(self, cost: float) -> None:
        self.sessions -= 1
        # Back to exactly 0 when the last one leaves: no rounding drift over time.
        self.in_use = self.in_use - cost if self.sessions else 0.0


# This process's heavy sessions: the consumers admit and release, /api/info/ reports.
PROCESSING = ProcessingBudget()
