"""The shape of a session record on its way to the database: one home for the
flusher that builds rows and the services that write them."""

from __future__ import annotations

# The columns of SessionRecord that a row fills, in order (the user is looked up
# on the flusher's thread). Rows are plain tuples, not dicts or model instances:
# a flush of 1,000 rows through the ORM allocates enough objects to set off
# full garbage collections, which under 1,000 open connections stop every thread,
# the event loop's included, for ~100 ms (docs/metrics-flush.md).
RECORD_FIELDS = (
    "uuid",
    "started_at",
    "ended_at",
    "duration_seconds",
    "rate",
    "format",
    "processor",
    "chain",
    "frames_in",
    "frames_out",
    "bytes_in",
    "bytes_out",
    "audio_seconds",
    "bad_frames",
    "nonfinite_samples",
    "rate_limited_frames",
    "errors",
    "peak_dbfs",
    "rms_dbfs",
    "proc_us_mean",
    "proc_us_p99",
    "proc_us_max",
    "chain_cost",
    "processing_seconds",
    "client_rtt_ms_p50",
    "client_rtt_ms_p95",
    "client_buffered_ms",
    "client_underruns",
    "client_overruns",
    "ended_by",
    "close_code",
    "close_error",
    "worker_host",
    "worker_pid",
    "client_ip",
)
Row = tuple[tuple, str | None]  # RECORD_FIELDS values, browser session key
