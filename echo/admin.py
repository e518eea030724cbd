"""The admin for session records: read-only, with a summary of what is filtered."""

from __future__ import annotations

import ipaddress
import re
import uuid
from datetime import UTC

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from .models import SessionRecord
from .records.charts import bar_chart
from .records.display import (
    chain_text,
    close_code_text,
    duration_text,
    hours_text,
    milliseconds_text,
    share_text,
)
from .records.reports import SessionSummary, summarize

NO_CODE = "none"
UUID_PART = re.compile(r"[0-9a-fA-F-]+")
ADDRESS_PART = re.compile(r"[0-9a-fA-F.:]+")

admin.site.site_header = "wsaudio administration"
admin.site.site_title = "wsaudio"
# The list of sessions needs the width more than a second menu of the few models.
admin.site.enable_nav_sidebar = False


class CloseCodeFilter(admin.SimpleListFilter):
    """The close codes found in the records, each with its meaning."""

    title = "close code"
    parameter_name = "close_code"

    def lookups(self, request, model_admin):
        codes = (
            SessionRecord.objects.order_by(F("close_code").asc(nulls_first=True))
            .values_list("close_code", flat=True)
            .distinct()
        )
        return [
            (NO_CODE, "none") if code is None else (str(code), close_code_text(code))
            for code in codes
        ]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        if self.value() == NO_CODE:
            return queryset.filter(close_code__isnull=True)
        if not self.value().isdigit():  # the list then says its filters are wrong
            raise IncorrectLookupParameters(f"no close code {self.value()!r}")
        return queryset.filter(close_code=int(self.value()))


@admin.register(SessionRecord)
class SessionRecordAdmin(admin.ModelAdmin):
    """Records are measurements: viewed and filtered, deleted only by superusers."""

    list_display = [
        "started",
        "duration",
        "rate_display",
        "format",
        "processor",
        "audio_seconds_display",
        "frames_in_display",
        "bad_frames",
        "peak_dbfs_display",
        "proc_us_p99_display",
        "rtt",
        "close",
    ]
    list_display_links = ["started"]
    list_filter = [
        "started_at",
        "rate",
        "format",
        "processor",
        CloseCodeFilter,
        "close_error",
        "ended_by",
    ]
    date_hierarchy = "started_at"
    search_fields = ["uuid", "client_ip"]
    search_help_text = "Session uuid or client address (or a part of either)."
    show_full_result_count = False  # one COUNT over the selection is enough
    list_per_page = 50
    fieldsets = [
        (
            "Session",
            {"fields": ["uuid", "user", "started_at", "ended_at", "duration"]},
        ),
        (
            "Audio",
            {
                "fields": [
                    "rate",
                    "format",
                    "processor",
                    "chain_options",
                    "audio_seconds",
                ]
            },
        ),
        (
            "Traffic",
            {"fields": ["frames_in", "frames_out", "bytes_in", "bytes_out"]},
        ),
        (
            "Faults",
            {
                "fields": [
                    "bad_frames",
                    "nonfinite_samples",
                    "rate_limited_frames",
                    "errors",
                ]
            },
        ),
        ("Levels", {"fields": ["peak_dbfs", "rms_dbfs"]}),
        (
            "Processing",
            {
                "fields": [
                    "proc_us_mean",
                    "proc_us_p99",
                    "proc_us_max",
                    "processing_seconds",
                    "chain_cost",
                ]
            },
        ),
        (
            "What the client reported",
            {
                "description": "The latest client_stats message; empty when the "
                "client sent none.",
                "fields": [
                    "client_rtt_ms_p50",
                    "client_rtt_ms_p95",
                    "client_buffered_ms",
                    "client_underruns",
                    "client_overruns",
                ],
            },
        ),
        ("How it ended", {"fields": ["ended_by", "close", "close_error"]}),
        ("Where", {"fields": ["worker_host", "worker_pid", "client_ip"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # records come only from sessions

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # measured values are not edited

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser

    def get_queryset(self, request: HttpRequest) -> QuerySet[SessionRecord]:
        return super().get_queryset(request).select_related("user")

    def get_search_results(self, request, queryset, search_term):
        """A whole uuid or address is found through its index; anything else,
        a part of either, by a scan of every record."""
        term = search_term.strip()
        try:
            return queryset.filter(uuid=uuid.UUID(term)), False
        except ValueError:
            pass
        try:
            return queryset.filter(client_ip=str(ipaddress.ip_address(term))), False
        except ValueError:
            pass
        # A part of only one of them is looked for in that one alone.
        if UUID_PART.fullmatch(term) and not ADDRESS_PART.fullmatch(term):
            return queryset.filter(uuid__icontains=term), False
        if ADDRESS_PART.fullmatch(term) and not UUID_PART.fullmatch(term):
            return queryset.filter(client_ip__icontains=term), False
        return super().get_search_results(request, queryset, search_term)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        """The list, with the summary of exactly the records it selects."""
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if isinstance(response, TemplateResponse) and changelist is not None:
            response.context_data["summary"] = summary_context(
                summarize(changelist.queryset)
            )
        return response

    @admin.display(description="started (UTC)", ordering="started_at")
    def started(self, record: SessionRecord) -> str:
        return f"{record.started_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}"

    @admin.display(description="chain options")
    def chain_options(self, record: SessionRecord) -> str:
        return chain_text(record.chain)

    @admin.display(description="rate (Hz)", ordering="rate")
    def rate_display(self, record: SessionRecord) -> int:
        return record.rate

    @admin.display(description="frames", ordering="frames_in")
    def frames_in_display(self, record: SessionRecord) -> int:
        return record.frames_in

    @admin.display(description="duration", ordering="duration_seconds")
    def duration(self, record: SessionRecord) -> str:
        return duration_text(record.duration_seconds)

    @admin.display(description="audio (s)", ordering="audio_seconds")
    def audio_seconds_display(self, record: SessionRecord) -> str:
        return f"{record.audio_seconds:.1f}"

    @admin.display(description="peak (dBFS)", ordering="peak_dbfs")
    def peak_dbfs_display(self, record: SessionRecord) -> str:
        return f"{record.peak_dbfs:.1f}"

    @admin.display(description="p99 proc. (µs)", ordering="proc_us_p99")
    def proc_us_p99_display(self, record: SessionRecord) -> str:
        return f"{record.proc_us_p99:.0f}"

    @admin.display(description="RTT p50 / p95 (ms)", ordering="client_rtt_ms_p95")
    def rtt(self, record: SessionRecord) -> str:
        if record.client_rtt_ms_p95 is None:
            return "—"
        return f"{record.client_rtt_ms_p50:.1f} / {record.client_rtt_ms_p95:.1f}"

    @admin.display(description="close code", ordering="close_code")
    def close(self, record: SessionRecord) -> str:
        return close_code_text(record.close_code)


def summary_context(summary: SessionSummary) -> dict:
    """The summary's figures as the change list template shows them."""
    labels = [day.day.isoformat() for day in summary.days]
    return {
        "sessions": f"{summary.sessions:,}",
        "running": f"{summary.running:,}",
        "audio_hours": hours_text(summary.audio_hours),
        "mean_length": duration_text(summary.mean_seconds),
        "p95_length": duration_text(summary.p95_seconds),
        "rtt_p95": milliseconds_text(summary.rtt_p95_ms),
        "rtt_sessions": f"{summary.rtt_sessions:,}",
        "error_share": share_text(summary.error_share) if summary.sessions else "—",
        "errors": [
            {
                "code": error.code,
                "close_code": close_code_text(error.close_code),
                "sessions": f"{error.sessions:,}",
                "share": share_text(error.share),
            }
            for error in summary.errors
        ],
        "sessions_chart": bar_chart(
            [day.sessions for day in summary.days],
            labels,
            format_value=lambda sessions: f"{sessions:,.0f}",
            unit="sessions",
        ),
        "hours_chart": bar_chart(
            [day.audio_hours for day in summary.days],
            labels,
            format_value=lambda hours: hours_text(hours).removesuffix(" h"),
            unit="h",
        ),
    }
