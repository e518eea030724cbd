"""session_report and prune_sessions on the known records."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from echo.models import SessionRecord

from .conftest import KNOWN, known_record, known_uuid, today


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def table_rows(text: str, title: str) -> list[list[str]]:
    """The body rows of the table titled ``title``, as lists of cell texts."""
    lines = text[text.index(title) :].splitlines()[1:]
    rows = []
    for line in lines:
        if "│" in line and not line.lstrip().startswith(("┃", "│ error", "│ day")):
            rows.append([cell.strip() for cell in line.strip().strip("│").split("│")])
        elif rows and not line.strip().startswith(("├", "┡", "─", "━", "│")):
            break
    return rows


def figures(text: str) -> dict[str, str]:
    """The first table's rows, name to value (its cells are 2+ spaces apart)."""
    block = text[text.index("Sessions selected") :].split("┏")[0]
    cells = [re.split(r"\s{2,}", line.strip()) for line in block.splitlines()[1:]]
    return dict(row for row in cells if len(row) == 2)


def test_the_report_prints_the_summary_the_admin_shows(known_records):
    out, _ = run("session_report")
    assert figures(out) == {
        "sessions": "10",
        "no end yet": "1",
        "audio": "0.89 h",
        "mean length": "5 min 30 s",
        "p95 length": "10 min 00 s",
        "round trip p95": "40.0 ms",
        "sessions reporting RTT": "5",
        "ended with an error": "40.0 %",
    }
    assert table_rows(out, "Closed after an error") == [
        ["idle_timeout", "4408 idle timeout", "2", "20.0 %"],
        ["processing_failed", "4500 processing failed", "1", "10.0 %"],
        ["too_many_errors", "4429 too many errors or messages", "1", "10.0 %"],
    ]
    days = table_rows(out, "Per day, by start")
    assert len(days) == 39
    first, last = today() - timedelta(days=40), today() - timedelta(days=2)
    assert days[0][:3] == [first.isoformat(), "3", "0.09 h"]
    assert days[1][:3] == [(first + timedelta(days=1)).isoformat(), "0", "0.00 h"]
    assert days[-1][:3] == [last.isoformat(), "3", "0.44 h"]
    assert days[-2][3] == "█" * 30  # the busiest day: 4 sessions
    assert days[-1][3] == "█" * 22  # 3 of 4


@pytest.mark.parametrize(
    ("options", "sessions"),
    [
        (["--format", "s16"], "5"),
        (["--rate", "48000"], "3"),
        (["--processor", "gain"], "2"),
        (["--close-code", "4408"], "2"),
        (["--close-code", "none"], "1"),
        (["--days", "7"], "7"),
        (["--until", str(today() - timedelta(days=3))], "7"),
        (["--since", str(today() - timedelta(days=2))], "3"),
        (["--since", str(today()), "--format", "f32"], "0"),
    ],
)
def test_the_report_summarizes_what_its_options_select(
    known_records, options, sessions
):
    assert figures(run("session_report", *options)[0])["sessions"] == sessions


def test_the_csv_holds_every_field_of_the_selected_records_oldest_first(
    known_records, tmp_path
):
    path = tmp_path / "sessions.csv"
    out, _ = run("session_report", "--format", "s16", "--csv", str(path))
    assert f"Wrote 5 records to {path}." in out
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [row["uuid"] for row in rows] == [
        str(known_uuid(n)) for n in (2, 4, 6, 8, 10)
    ]
    first, running = rows[0], rows[3]
    record = known_record(2)
    assert first["started_at"] == record.started_at.isoformat()
    assert first["started_at"].endswith("+00:00")
    assert (first["rate"], first["format"], first["processor"]) == (
        "16384",
        "s16",
        "echo",
    )
    assert float(first["duration_seconds"]) == 120.0
    assert float(first["audio_seconds"]) == 111.0
    assert float(first["client_rtt_ms_p95"]) == 7.0
    assert (first["close_code"], first["ended_by"]) == ("1000", "client")
    assert first["client_ip"] == "2001:db8::1"
    assert first["user_id"] == ""
    assert (running["ended_at"], running["close_code"], running["ended_by"]) == (
        "",
        "",
        "",
    )
    assert set(first) == {f.attname for f in SessionRecord._meta.concrete_fields}


def test_a_csv_on_standard_output_is_only_csv(known_records):
    out, err = run("session_report", "--csv", "-", "--close-code", "4408")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["uuid"] for row in rows] == [str(known_uuid(n)) for n in (3, 7)]
    assert "Sessions selected" in err
    assert "Wrote 2 records to standard output." in err


@pytest.mark.parametrize(
    "options",
    [
        ["--close-code", "normal"],
        ["--days", "0"],
        ["--days", "3", "--since", "2026-01-01"],
    ],
)
def test_the_report_refuses_options_it_cannot_apply(db, options):
    with pytest.raises(CommandError):
        run("session_report", *options)


@pytest.fixture
def around_30_days(db) -> list[SessionRecord]:
    """Two records beside the 30-day line: one a minute beyond it, one within."""
    now = timezone.now()
    beyond, within = known_record(1), known_record(2)
    beyond.uuid, beyond.started_at = known_uuid(31), now - timedelta(days=30, minutes=1)
    within.uuid, within.started_at = (
        known_uuid(29),
        now - timedelta(days=30, minutes=-1),
    )
    return SessionRecord.objects.bulk_create([beyond, within])


def remaining() -> set:
    return set(SessionRecord.objects.values_list("uuid", flat=True))


def test_pruning_removes_exactly_the_records_older_than_the_retention(
    known_records, around_30_days, settings
):
    settings.WSAUDIO_METRICS_RETENTION_DAYS = 30
    out, _ = run("prune_sessions", "--batch-size", "2", "--verbosity", "2")
    assert remaining() == {known_uuid(n) for n in [*range(4, 11), 29]}
    assert out.count("deleted 2 (") == 2  # 4 records in batches of 2
    assert "Deleted 4 records of sessions that started before" in out
    assert "(30 days kept)" in out
    assert run("prune_sessions")[0].startswith("Deleted 0 records")


def test_days_on_the_command_line_override_the_setting(known_records, settings):
    settings.WSAUDIO_METRICS_RETENTION_DAYS = 365
    run("prune_sessions", "--days", "10")
    assert remaining() == {known_uuid(n) for n in range(4, 11)}


def test_without_a_retention_every_record_is_kept(known_records, settings):
    settings.WSAUDIO_METRICS_RETENTION_DAYS = None
    out, _ = run("prune_sessions")
    assert "every record is kept" in out
    assert remaining() == {known_uuid(n) for n in KNOWN}


def test_a_dry_run_counts_and_deletes_nothing(known_records, around_30_days):
    out, _ = run("prune_sessions", "--days", "30", "--dry-run")
    assert out.startswith("Would delete 4 records")
    assert len(remaining()) == 12


def test_pruning_refuses_a_retention_under_a_day(db):
    with pytest.raises(CommandError):
        run("prune_sessions", "--days", "0")
