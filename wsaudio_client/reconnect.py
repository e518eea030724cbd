"""When to reconnect, and what a reconnect lost: the policy (backoff, jitter,
deadline), which ends of a session it follows, and the record of each gap.

Pure: no I/O. ``reconnecting_session`` does the reconnecting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import HandshakeFailed, ServerError, SessionClosed, WsaudioError
from .wire import CloseCode, ErrorCode

# How a session ends when its server goes, rather than for a reason a new session
# would meet again: no close frame at all (what browsers call 1006), 1001 and 1012
# from the server software, 4502 from a draining wsaudio server.
GONE_CLOSE_CODES = frozenset({None, 1001, 1006, 1012, CloseCode.SHUTTING_DOWN})
# Errors after which the same session, opened again, may be admitted later.
RETRIED_REFUSALS = frozenset({ErrorCode.SHUTTING_DOWN, ErrorCode.BUSY})
_MAX_DOUBLINGS = 64  # past any max_delay already; 2.0**1100 is no float


@dataclass(frozen=True)
class Reconnect:
    """When a session ends because its server went, open another on the same URL.

    Attempts back off from ``first_delay`` seconds, doubling up to ``max_delay``,
    each shortened at random by up to ``jitter`` of itself (0..1), so that the
    clients of one server do not all come back at the same instant. No attempt
    starts more than ``deadline`` seconds after the session ended: the last
    attempt's error is raised instead.
    """

    first_delay: float = 0.1
    max_delay: float = 2.0
    jitter: float = 0.5
    deadline: float = 30.0

    def __post_init__(self) -> None:
        if not 0 <= self.first_delay <= self.max_delay:
            raise ValueError("reconnect delays need 0 <= first_delay <= max_delay")
        if not 0 <= self.jitter <= 1:
            raise ValueError("reconnect jitter is a share of the delay, 0 to 1")
        if not self.deadline > 0:
            raise ValueError("the reconnect deadline must be above 0 seconds")

    def delay(self, attempt: int, draw: float) -> float:
        """Seconds to wait before attempt ``attempt`` (1, 2, ...) of one gap;
        ``draw`` is a random number in [0, 1)."""
        doublings = min(attempt - 1, _MAX_DOUBLINGS)
        full = min(self.max_delay, self.first_delay * 2.0**doublings)
        return full * (1 - self.jitter * draw)


def server_went(error: WsaudioError) -> bool:
    """Whether a session that ended with ``error`` ended because its server went
    (``shutting_down``, a dropped connection, 1001, 1012, 4502)."""
    if isinstance(error, ServerError):
        return error.code == ErrorCode.SHUTTING_DOWN
    return isinstance(error, SessionClosed) and error.close_code in GONE_CLOSE_CODES


def may_be_admitted_later(error: WsaudioError) -> bool:
    """Whether an attempt that failed with ``error`` is worth making again: the
    handshake was refused or went unanswered, the server was full, or it went."""
    if isinstance(error, ServerError):
        return error.code in RETRIED_REFUSALS
    return isinstance(error, HandshakeFailed) or server_went(error)


def cause(error: WsaudioError) -> str:
    """Why a session ended or an attempt failed, as a short key: an error code
    (``shutting_down``, ``busy``), ``close_<code>``, ``dropped`` (no close frame),
    ``http_<status>``, or ``unreachable`` (no answer to the handshake)."""
    if isinstance(error, ServerError):
        return error.code
    if isinstance(error, SessionClosed):
        return "dropped" if error.close_code is None else f"close_{error.close_code}"
    if isinstance(error, HandshakeFailed):
        return f"http_{error.status}" if error.status is not None else "unreachable"
    return type(error).__name__


@dataclass(frozen=True)
class Gap:
    """Where one session gave way to the next. Frames are the client's own
    indexes (``ReconnectingSession.send``'s), which run on across sessions."""

    cause: str  # how the old session ended: see cause()
    lost: tuple[int, ...]  # the frames that will never get a reply, in order
    unanswered: int  # of them, sent in the old session and not answered before it
    resumed_at: int  # the first frame of the new session
    seconds: float  # with no session: from the old one's end to the new ``ready``
    attempts: int  # connections tried, the one that got ``ready`` included
    refusals: dict[str, int]  # why the others failed, by cause()
    old_session: str
    new_session: str

    @property
    def frames_lost(self) -> int:
        return len(self.lost)

    @property
    def into_the_void(self) -> int:
        """Frames sent while there was no session."""
        return len(self.lost) - self.unanswered

    def summary(self) -> dict[str, Any]:
        """The gap as JSON-ready data; ``lost_frames`` as [first, last] runs."""
        return {
            "cause": self.cause,
            "frames_lost": self.frames_lost,
            "unanswered": self.unanswered,
            "into_the_void": self.into_the_void,
            "lost_frames": frame_runs(self.lost),
            "resumed_at": self.resumed_at,
            "seconds": round(self.seconds, 3),
            "attempts": self.attempts,
            "refusals": self.refusals,
            "old_session": self.old_session,
            "new_session": self.new_session,
        }


def frame_runs(frames: tuple[int, ...]) -> list[list[int]]:
    """Sorted frame indexes as [first, last] runs: (3, 4, 5, 9) -> [[3, 5], [9, 9]]."""
    runs: list[list[int]] = []
    for frame in frames:
        if runs and frame == runs[-1][1] + 1:
            runs[-1][1] = frame
        else:
            runs.append([frame, frame])
    return runs
