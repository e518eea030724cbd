"""The only ORM writes of the audio path: session records, in bulk.

Synchronous: the flusher (echo.records.flusher) calls them on its own thread, never
on the event loop and never on Channels' shared sync thread.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import import_module

from django.conf import settings
from django.contrib import auth
from django.db import connection, transaction
from django.http import HttpRequest

from ..models import SessionRecord
from .rows import RECORD_FIELDS, Row

# Fields whose Python values the database driver cannot take as they are.
_CONVERTED = ("uuid", "started_at", "ended_at", "chain", "client_ip")


def session_records_save(*, rows: list[Row]) -> None:
    """Create or update one record per row, all in one transaction.

    One upsert statement run for every row (``executemany``): the bulk write of
    ``bulk_create(update_conflicts=True)``, without building a model instance and
    its SQL per row (see echo.records.rows for why that matters). A row
    with a browser session key is a first write: its user, if one is logged in to
    the site, is looked up now; later writes leave the user as it is.
    """
    fields = SessionRecord._meta
    conversions = [
        (RECORD_FIELDS.index(name), fields.get_field(name)) for name in _CONVERTED
    ]
    params = []
    for values, session_key in rows:
        values = list(values)
        for index, field in conversions:
            values[index] = field.get_db_prep_save(values[index], connection)
        values.append(_logged_in_user_id(session_key) if session_key else None)
        params.append(values)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_upsert_sql(connection.vendor), params)


@cache
def _upsert_sql(vendor: str) -> str:
    """INSERT ... ON CONFLICT (uuid) DO UPDATE, as SQLite and PostgreSQL spell it."""
    quote = connection.ops.quote_name
    fields = SessionRecord._meta
    columns = [fields.get_field(name).column for name in RECORD_FIELDS]
    columns.append(fields.get_field("user").column)
    updated = [quote(column) for column in columns[1:-1]]  # not the key, not the user
    return (
        f"INSERT INTO {quote(fields.db_table)} ({', '.join(map(quote, columns))}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({quote(columns[0])}) DO UPDATE SET "
        + ", ".join(f"{column} = EXCLUDED.{column}" for column in updated)
    )


def _logged_in_user_id(session_key: str) -> int | None:
    """Django's own session and auth-hash checks, as for an HTTP request."""
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(request)
    return user.pk if user.is_authenticated else None


def session_records_delete_batch(*, started_before: datetime, batch_size: int) -> int:
    """Delete up to ``batch_size`` of the oldest records that started before
    ``started_before``; the number deleted.

    One DELETE ... WHERE uuid IN (SELECT ... LIMIT) per call, in its own short
    transaction: pruning millions of rows never holds a lock for long against the
    flusher's writes.
    """
    oldest = (
        SessionRecord.objects.filter(started_at__lt=started_before)
        .order_by("started_at")
        .values("pk")[:batch_size]
    )
    deleted, _ = SessionRecord.objects.filter(pk__in=oldest).delete()
    return deleted
