"""A session's row and the SessionRecord table agree, column for column."""

from django.utils import timezone

from echo.models import SessionRecord
from echo.protocol import ServerConfig
from echo.records.flusher import MetricsFlusher, SessionRecorder
from echo.records.rows import RECORD_FIELDS
from echo.sessions.session import AudioSession


def test_a_row_fills_every_field_of_the_record_but_its_user():
    fields = [f.name for f in SessionRecord._meta.concrete_fields if f.name != "user"]
    assert sorted(RECORD_FIELDS) == sorted(fields)
    assert len(set(RECORD_FIELDS)) == len(RECORD_FIELDS)


def test_a_row_holds_one_value_per_field_named_in_order():
    session = AudioSession.open(ServerConfig(), "16000", b"format=s16", 0.0)
    started = timezone.now()
    recorder = SessionRecorder(MetricsFlusher(print), session, started, None, "key")
    values, session_key = recorder.row(started)
    row = dict(zip(RECORD_FIELDS, values, strict=True))
    assert (row["uuid"], row["rate"], row["format"]) == (session.id, 16000, "s16")
    assert (row["started_at"], row["ended_at"], row["duration_seconds"]) == (
        started,
        None,
        0.0,
    )
    assert session_key == "key"  # a first write looks up the browser's user
