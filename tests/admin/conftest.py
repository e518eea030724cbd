"""Operators' tools on a known set of ten session records.

The records are placed relative to today (UTC): three 40 days ago, four 3 days
ago, three 2 days ago, at noon and n minutes. Record ``n`` lasted ``60 n`` seconds and
holds ``60 n - 9`` seconds of audio, so every figure of a summary can be worked
out by hand; the table below is the whole set.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from html import unescape

import pytest
from django.utils import timezone

from echo.models import SessionRecord

# n: days ago, rate, format, processor, close code, error, client RTT p95 (ms)
KNOWN = {
    1: (40, 16384, "f32", "echo", 1000, "", 5.0),
    2: (40, 16384, "s16", "echo", 1000, "", 7.0),
    3: (40, 16384, "f32", "echo", 4408, "idle_timeout", None),
    4: (3, 16384, "s16", "echo", 1006, "", 9.0),
    5: (3, 16384, "f32", "echo", 4429, "too_many_errors", None),
    6: (3, 48000, "s16", "echo", 1000, "", 11.0),
    7: (3, 48000, "f32", "echo", 4408, "idle_timeout", None),
    8: (2, 48000, "s16", "echo", None, "", None),  # still running
    9: (2, 8000, "f32", "gain", 1001, "", 40.0),
    10: (2, 8000, "s16", "gain", 4500, "processing_failed", None),
}
CLIENT_IPS = {1: "203.0.113.7", 2: "2001:db8::1"}


def known_uuid(n: int) -> uuid.UUID:
    return uuid.UUID(f"{n:08x}-aaaa-4bbb-8ccc-dddddddddddd")


def today() -> date:
    return timezone.now().astimezone(UTC).date()


def known_record(n: int) -> SessionRecord:
    days_ago, rate, fmt, processor, close_code, error, rtt_p95 = KNOWN[n]
    started_at = datetime.combine(today() - timedelta(days=days_ago), time(12, n), UTC)
    duration = 60.0 * n
    running = n == 8
    return SessionRecord(
        uuid=known_uuid(n),
        started_at=started_at,
        ended_at=None if running else started_at + timedelta(seconds=duration),
        duration_seconds=duration,
        rate=rate,
        format=fmt,
        processor=processor,
        frames_in=n * 100,
        frames_out=n * 100 - (60 if n == 5 else 0),
        bytes_in=n * 100 * 4096,
        bytes_out=n * 100 * 4096,
        audio_seconds=duration - 9,
        bad_frames=60 if n == 5 else 0,
        peak_dbfs=-float(n),
        rms_dbfs=-float(n) - 10,
        proc_us_mean=10.0 * n,
        proc_us_p99=20.0 * n,
        proc_us_max=30.0 * n,
        client_rtt_ms_p50=None if rtt_p95 is None else rtt_p95 / 2,
        client_rtt_ms_p95=rtt_p95,
        ended_by=(
            ""
            if running
            else SessionRecord.EndedBy.SERVER
            if error
            else SessionRecord.EndedBy.CLIENT
        ),
        close_code=close_code,
        close_error=error,
        worker_host="worker-a",
        worker_pid=4000 + n,
        client_ip=CLIENT_IPS.get(n),
    )


@pytest.fixture
def known_records(db) -> list[SessionRecord]:
    return SessionRecord.objects.bulk_create([known_record(n) for n in KNOWN])


def element_text(html: str, element_id: str) -> str:
    """The text inside the element with ``element_id``, tags and spacing removed."""
    match = re.search(
        rf'id="{element_id}"[^>]*>(.*?)</(dd|span|td|div|table)>', html, re.S
    )
    assert match, f"no element #{element_id} in the page"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())
