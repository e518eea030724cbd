"""Record times cut to UTC years, months and days, by SQLite's own functions too.

On SQLite, Django truncates a datetime with a Python function it registers on the
connection, called once per row: with 100,000 records the admin's per-day chart
and its date hierarchy spent about half a second each in it. SQLite stores the
times as UTC ISO text, so in UTC (this project's time zone) its built-in
strftime() gives the same answer many times faster. Other databases, and other
time zones, keep Django's own SQL.
"""

from __future__ import annotations

from django.db.models import DateTimeField, F, QuerySet
from django.db.models.functions import Trunc, TruncDate
from django.utils import timezone

# What strftime() makes of a stored "YYYY-MM-DD HH:MM:SS.ffffff", per kind.
SQLITE_FORMATS = {
    "year": "%Y-01-01 00:00:00",
    "month": "%Y-%m-01 00:00:00",
    "day": "%Y-%m-%d 00:00:00",
}


class UTCTrunc(Trunc):
    """Trunc to a year, month or day, as SQLite's strftime() when in UTC."""

    def as_sqlite(self, compiler, connection, **extra_context):
        if self.kind not in SQLITE_FORMATS or self.get_tzname() != "UTC":
            return self.as_sql(compiler, connection)
        sql, params = compiler.compile(self.lhs)
        return f"strftime(%s, {sql})", (SQLITE_FORMATS[self.kind], *params)


class UTCTruncDate(TruncDate):
    """TruncDate, as SQLite's date() when in UTC."""

    def as_sqlite(self, compiler, connection, **extra_context):
        if self.get_tzname() != "UTC":
            return self.as_sql(compiler, connection)
        sql, params = compiler.compile(self.lhs)
        return f"date({sql})", params


class UTCDateQuerySet(QuerySet):
    """datetimes(), the date hierarchy's query, through UTCTrunc."""

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        if kind not in SQLITE_FORMATS or order not in ("ASC", "DESC"):
            return super().datetimes(field_name, kind, order, tzinfo)
        # As QuerySet.datetimes() builds it (USE_TZ is on), with UTCTrunc.
        return (
            self.annotate(
                datetimefield=UTCTrunc(
                    field_name,
                    kind,
                    output_field=DateTimeField(),
                    tzinfo=tzinfo or timezone.get_current_timezone(),
                ),
                plain_field=F(field_name),
            )
            .values_list("datetimefield", flat=True)
            .distinct()
            .filter(plain_field__isnull=False)
            .order_by(("-" if order == "DESC" else "") + "datetimefield")
        )
