"""manage.py prune_sessions: delete records past their retention, in batches.

Small batches, each its own transaction, so that the servers' own writes of
running sessions never wait long behind a prune of millions of rows.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from echo.models import SessionRecord
from echo.records.services import session_records_delete_batch


class Command(BaseCommand):
    help = (
        "Delete session records that started more than WSAUDIO_METRICS_RETENTION_DAYS "
        "days ago (or --days), a batch at a time. Without either, keeps everything."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, help="keep this many days instead of the setting"
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=5000,
            help="records deleted per transaction (default 5000)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count, delete nothing"
        )

    def handle(self, *args, **options) -> None:
        days = options["days"]
        if days is None:
            days = settings.WSAUDIO_METRICS_RETENTION_DAYS
        if days is None:
            self.stdout.write(
                "WSAUDIO_METRICS_RETENTION_DAYS is not set and --days was not given: "
                "every record is kept."
            )
            return
        if days < 1 or options["batch_size"] < 1:
            raise CommandError("--days and --batch-size take numbers >= 1")
        cutoff = timezone.now() - timedelta(days=days)
        described = (
            f"records of sessions that started before {cutoff:%Y-%m-%d %H:%M} UTC"
        )
        if options["dry_run"]:
            count = SessionRecord.objects.filter(started_at__lt=cutoff).count()
            self.stdout.write(f"Would delete {count:,} {described}.")
            return
        total = 0
        while deleted := session_records_delete_batch(
            started_before=cutoff, batch_size=options["batch_size"]
        ):
            total += deleted
            if options["verbosity"] >= 2:
                self.stdout.write(f"deleted {deleted:,} ({total:,} so far)")
        self.stdout.write(f"Deleted {total:,} {described} ({days} days kept).")
