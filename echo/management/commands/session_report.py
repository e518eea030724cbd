"""manage.py session_report: the admin's summary in a terminal, and a CSV export."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta
from typing import TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet
from django.utils import timezone
from rich import box
from rich.console import Console
from rich.table import Table

from echo.models import SessionRecord
from echo.records.display import (
    close_code_text,
    duration_text,
    hours_text,
    milliseconds_text,
    share_text,
)
from echo.records.reports import SessionSummary, summarize

BAR_WIDTH = 30  # characters for the busiest day in the per-day table


class Command(BaseCommand):
    help = (
        "Summarize session records (what the admin shows above its list) as "
        "tables, and export the same selection as CSV with --csv."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since", type=date.fromisoformat, help="first day (UTC, YYYY-MM-DD)"
        )
        parser.add_argument(
            "--until", type=date.fromisoformat, help="last day, included (UTC)"
        )
        parser.add_argument(
            "--days", type=int, help="the last N days, today (UTC) included"
        )
        parser.add_argument("--rate", type=int, help="sample rate in Hz")
        parser.add_argument("--format", choices=["f32", "s16"])
        parser.add_argument("--processor")
        parser.add_argument(
            "--close-code", help="a close code, or 'none' for sessions without one"
        )
        parser.add_argument(
            "--csv",
            metavar="FILE",
            help="write the selected records to FILE as CSV ('-': standard "
            "output; the summary then goes to standard error)",
        )

    def handle(self, *args, **options) -> None:
        records = selected_records(options)
        destination = options["csv"]
        # With the CSV on standard output, the tables go aside to standard error.
        tables = self.stderr if destination == "-" else self.stdout
        print_summary(summarize(records), Console(file=tables, highlight=False))
        if destination == "-":
            count = write_csv(records, self.stdout)
            tables.write(f"Wrote {count:,} records to standard output.")
        elif destination:
            with open(destination, "w", newline="", encoding="utf-8") as file:
                count = write_csv(records, file)
            tables.write(f"Wrote {count:,} records to {destination}.")


def selected_records(options: dict) -> QuerySet[SessionRecord]:
    """The records the command's options select; by start, in UTC days."""
    records = SessionRecord.objects.all()
    since, until, days = options["since"], options["until"], options["days"]
    if days is not None:
        if days < 1 or since:
            raise CommandError("--days takes a number of days >= 1, without --since")
        since = timezone.now().astimezone(UTC).date() - timedelta(days=days - 1)
    if since:
        records = records.filter(started_at__gte=datetime.combine(since, time(), UTC))
    if until:
        next_day = datetime.combine(until + timedelta(days=1), time(), UTC)
        records = records.filter(started_at__lt=next_day)
    for option in ("rate", "format", "processor"):
        if options[option] is not None:
            records = records.filter(**{option: options[option]})
    if (code := options["close_code"]) is not None:
        if code == "none":
            records = records.filter(close_code__isnull=True)
        elif code.isdigit():
            records = records.filter(close_code=int(code))
        else:
            raise CommandError(f"--close-code takes a number or 'none', not {code!r}")
    return records


def print_summary(summary: SessionSummary, console: Console) -> None:
    """Three tables: the figures, the errors by code, and the days."""
    figures = Table(
        "", "", title="Sessions selected", box=box.SIMPLE, show_header=False
    )
    for name, value in [
        ("sessions", f"{summary.sessions:,}"),
        ("no end yet", f"{summary.running:,}"),
        ("audio", hours_text(summary.audio_hours)),
        ("mean length", duration_text(summary.mean_seconds)),
        ("p95 length", duration_text(summary.p95_seconds)),
        ("round trip p95", milliseconds_text(summary.rtt_p95_ms)),
        ("sessions reporting RTT", f"{summary.rtt_sessions:,}"),
        (
            "ended with an error",
            share_text(summary.error_share) if summary.sessions else "—",
        ),
    ]:
        figures.add_row(name, value)
    console.print(figures)
    if summary.errors:
        errors = Table(
            "error", "close code", "sessions", "share", title="Closed after an error"
        )
        for error in summary.errors:
            errors.add_row(
                error.code,
                close_code_text(error.close_code),
                f"{error.sessions:,}",
                share_text(error.share),
            )
        console.print(errors)
    if summary.days:
        busiest = max(day.sessions for day in summary.days)
        days = Table("day (UTC)", "sessions", "audio", "", title="Per day, by start")
        for day in summary.days:
            bar = "█" * round(BAR_WIDTH * day.sessions / busiest)
            days.add_row(
                day.day.isoformat(),
                f"{day.sessions:,}",
                hours_text(day.audio_hours),
                bar,
            )
        console.print(days)


def write_csv(records: QuerySet[SessionRecord], file: TextIO) -> int:
    """Every field of ``records`` (oldest first), streamed; the rows written.

    Times are ISO 8601 in UTC, an empty cell is a null, and ``user_id`` is the
    key of the user who was logged in to the site.
    """
    columns = [field.attname for field in SessionRecord._meta.concrete_fields]
    writer = csv.writer(file)
    writer.writerow(columns)
    count = 0
    rows = records.order_by("started_at", "uuid").values_list(*columns)
    for row in rows.iterator(chunk_size=2000):
        writer.writerow(["" if value is None else _cell(value) for value in row])
        count += 1
    return count


def _cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value
