"""The only ORM writes of the audio path: session records, in bulk.

Synchronous: echo.metrics calls them on its own thread, never on the event loop
and never on Channels' shared sync thread.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.db import transaction
from django.http import HttpRequest

from .models import SessionRecord

# Everything but the key and who the session belonged to, which are set once.
UPDATED_FIELDS = [
    field.name
    for field in SessionRecord._meta.concrete_fields
    if field.name not in ("uuid", "user")
]


def session_records_save(*, rows: list[dict[str, Any]]) -> None:
    """Create or update one record per row, all in one transaction.

    A row with a ``session_key`` (the browser's Django session cookie) is the
    session's first write: its user, if one is logged in, is looked up now.
    """
    records = []
    for row in rows:
        fields = dict(row)
        if session_key := fields.pop("session_key", None):
            fields["user_id"] = _logged_in_user_id(session_key)
        records.append(SessionRecord(**fields))
    with transaction.atomic():
        SessionRecord.objects.bulk_create(
            records,
            update_conflicts=True,
            unique_fields=["uuid"],
            update_fields=UPDATED_FIELDS,
        )


def _logged_in_user_id(session_key: str) -> int | None:
    """Django's own session and auth-hash checks, as for an HTTP request."""
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(request)
    return user.pk if user.is_authenticated else None
