"""What a set of session records adds up to: the admin's summary and the report.

Every figure is computed by the database: aggregates, one grouped query per
breakdown, and one ordered row per percentile. Python reads one row per error
code and per day, however many records a summary covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Avg, Count, Q, QuerySet, Sum

from ..models import SessionRecord
from .dates import UTCTruncDate

CHART_DAYS = 60  # the charts show the last 60 days of a selection


@dataclass(frozen=True)
class ErrorShare:
    """Sessions the server closed after sending error ``code``."""

    code: str
    close_code: int | None
    sessions: int
    share: float  # of all the sessions summarized, 0 to 1


@dataclass(frozen=True)
class DayUsage:
    """One UTC day of a selection, by the day sessions started."""

    day: date
    sessions: int
    audio_hours: float


@dataclass(frozen=True)
class SessionSummary:
    """A selection of session records, summed up.

    Lengths are ``duration_seconds`` (so far, for a session still running).
    Percentiles are nearest-rank: the smallest value that at least that share of
    the sessions do not exceed, so each is one session's real value. The RTT is
    what clients reported in ``client_stats``: the p95 over sessions of each
    session's own p95, among the ``rtt_sessions`` that reported one.
    """

    sessions: int
    running: int  # no end recorded: still open, or their worker was killed
    audio_hours: float
    mean_seconds: float | None
    p95_seconds: float | None
    rtt_p95_ms: float | None
    rtt_sessions: int
    errors: list[ErrorShare]
    days: list[DayUsage]  # the last CHART_DAYS days, days without sessions included

    @property
    def error_share(self) -> float:
        """The share of sessions that ended with an error code, 0 to 1."""
        return sum(error.share for error in self.errors)


def summarize(records: QuerySet[SessionRecord]) -> SessionSummary:
    """Summarize ``records``: any filtered queryset of session records."""
    records = records.order_by()  # an ordering would join the GROUP BYs below
    totals = records.aggregate(
        sessions=Count("pk"),
        running=Count("pk", filter=Q(ended_at__isnull=True)),
        audio_seconds=Sum("audio_seconds", default=0.0),
        mean_seconds=Avg("duration_seconds"),
        rtt_sessions=Count("client_rtt_ms_p95"),
    )
    sessions = totals["sessions"]
    errors = (
        records.exclude(close_error="")
        .values("close_error", "close_code")
        .annotate(sessions=Count("pk"))
        .order_by("-sessions", "close_error", "close_code")
    )
    return SessionSummary(
        sessions=sessions,
        running=totals["running"],
        audio_hours=totals["audio_seconds"] / 3600,
        mean_seconds=totals["mean_seconds"],
        p95_seconds=percentile(records, "duration_seconds", 95, count=sessions),
        rtt_p95_ms=percentile(
            records.filter(client_rtt_ms_p95__isnull=False),
            "client_rtt_ms_p95",
            95,
            count=totals["rtt_sessions"],
        ),
        rtt_sessions=totals["rtt_sessions"],
        errors=[
            ErrorShare(
                code=row["close_error"],
                close_code=row["close_code"],
                sessions=row["sessions"],
                share=row["sessions"] / sessions,
            )
            for row in errors
        ],
        days=daily_usage(records),
    )


def percentile(
    records: QuerySet[SessionRecord], field: str, percent: int, *, count: int
) -> float | None:
    """The nearest-rank ``percent``-th percentile of ``field`` over ``count``
    ``records`` (none of them null): the one value at that rank, read by the
    database's ORDER BY ... LIMIT 1 OFFSET."""
    if count == 0:
        return None
    rank = -(-percent * count // 100)  # ceil(percent / 100 × count), in integers
    return records.order_by(field).values_list(field, flat=True)[rank - 1]


def daily_usage(records: QuerySet[SessionRecord]) -> list[DayUsage]:
    """Sessions and audio hours per day for the last CHART_DAYS days of ``records``,
    up to the day of the latest session, each day listed even when it has none."""
    per_day = {
        row["day"]: row
        for row in records.annotate(day=UTCTruncDate("started_at"))
        .values("day")
        .annotate(sessions=Count("pk"), audio_seconds=Sum("audio_seconds"))
        .order_by("day")
    }
    if not per_day:
        return []
    last = max(per_day)
    first = max(min(per_day), last - timedelta(days=CHART_DAYS - 1))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    empty = {"sessions": 0, "audio_seconds": 0.0}
    return [
        DayUsage(
            day=day,
            sessions=per_day.get(day, empty)["sessions"],
            audio_hours=per_day.get(day, empty)["audio_seconds"] / 3600,
        )
        for day in days
    ]
