"""UTC days and months by SQLite's own functions equal what Django's give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import connection
from django.db.models import DateTimeField, QuerySet
from django.db.models.functions import Trunc, TruncDate
from django.test.utils import CaptureQueriesContext

from echo.models import SessionRecord
from echo.records.dates import UTCTrunc, UTCTruncDate

from .conftest import known_record, known_uuid

EDGES = [
    datetime(2025, 12, 31, 23, 59, 59, 999999, UTC),
    datetime(2026, 1, 1, 0, 0, 0, 0, UTC),
    datetime(2026, 2, 28, 23, 59, 59, 500000, UTC),
    datetime(2026, 3, 1, 0, 0, 0, 1, UTC),
    datetime(2024, 2, 29, 12, 0, 0, 0, UTC),
]


@pytest.fixture
def spread_records(db) -> list[SessionRecord]:
    """Records at the edges of days, months and years, and 200 random times."""
    rng = np.random.default_rng(7)
    offsets = rng.integers(0, 3 * 365 * 86400 * 10**6, 200)
    times = EDGES + [
        datetime(2024, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))
        for us in offsets
    ]
    records = []
    for n, started_at in enumerate(times, start=1):
        record = known_record(1)
        record.uuid, record.started_at = known_uuid(1000 + n), started_at
        records.append(record)
    return SessionRecord.objects.bulk_create(records)


@pytest.mark.parametrize("kind", ["year", "month", "day"])
def test_utc_trunc_cuts_every_time_as_django_does(spread_records, kind):
    ours = SessionRecord.objects.annotate(
        cut=UTCTrunc("started_at", kind, output_field=DateTimeField())
    )
    django = SessionRecord.objects.annotate(
        cut=Trunc("started_at", kind, output_field=DateTimeField())
    )
    assert dict(ours.values_list("uuid", "cut")) == dict(
        django.values_list("uuid", "cut")
    )


def test_utc_trunc_date_gives_every_time_the_day_django_gives(spread_records):
    ours = SessionRecord.objects.annotate(day=UTCTruncDate("started_at"))
    django = SessionRecord.objects.annotate(day=TruncDate("started_at"))
    assert dict(ours.values_list("uuid", "day")) == dict(
        django.values_list("uuid", "day")
    )


@pytest.mark.parametrize("kind", ["year", "month", "day"])
@pytest.mark.parametrize("order", ["ASC", "DESC"])
def test_the_date_hierarchy_query_lists_what_djangos_lists(spread_records, kind, order):
    records = SessionRecord.objects.filter(started_at__year__gte=2025)
    with CaptureQueriesContext(connection) as queries:
        ours = list(records.datetimes("started_at", kind, order))
    assert ours == list(QuerySet.datetimes(records, "started_at", kind, order))
    assert len(ours) > 1
    if connection.vendor == "sqlite":
        assert "strftime" in queries[0]["sql"]
        assert "django_datetime" not in queries[0]["sql"]  # no Python per row
