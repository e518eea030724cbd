"""What the server keeps of every audio session that got ``ready``."""

from django.conf import settings
from django.db import models

from .protocol import MAX_CHAIN_TEXT
from .records.dates import UTCDateQuerySet


class SessionRecord(models.Model):
    """One WebSocket audio session: parameters, traffic, levels, timing and its end.

    Written only by the metrics flusher (echo.records.flusher), a few seconds behind the
    session; the counters mean what the ``stats`` message of docs/protocol.md says.
    """

    class EndedBy(models.TextChoices):
        SERVER = "server", "server closed it"
        CLIENT = "client", "client closed or vanished"
        SHUTDOWN = "shutdown", "server process stopped"

    uuid = models.UUIDField("session", primary_key=True, editable=False)
    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True, db_index=True)
    duration_seconds = models.FloatField(help_text="so far, while the session runs")

    rate = models.PositiveIntegerField("sample rate (Hz)", db_index=True)
    format = models.CharField(max_length=8, db_index=True)
    processor = models.CharField(
        "chain",
        max_length=MAX_CHAIN_TEXT,
        db_index=True,
        help_text="as the client named it",
    )
    chain = models.JSONField(
        "chain options",
        default=list,
        help_text="each processor with every option's latest value",
    )

    frames_in = models.PositiveBigIntegerField(default=0)
    frames_out = models.PositiveBigIntegerField(default=0)
    bytes_in = models.PositiveBigIntegerField(default=0)
    bytes_out = models.PositiveBigIntegerField(default=0)
    audio_seconds = models.FloatField("audio received (s)", default=0.0)
    bad_frames = models.PositiveBigIntegerField(default=0)
    nonfinite_samples = models.PositiveBigIntegerField(default=0)
    rate_limited_frames = models.PositiveBigIntegerField(default=0)
    errors = models.PositiveBigIntegerField("error messages sent", default=0)

    peak_dbfs = models.FloatField("peak (dBFS)")
    rms_dbfs = models.FloatField("RMS (dBFS, AES17)")
    proc_us_mean = models.FloatField("processing mean (µs)", default=0.0)
    proc_us_p99 = models.FloatField("processing p99 (µs)", default=0.0)
    proc_us_max = models.FloatField("processing max (µs)", default=0.0)
    chain_cost = models.FloatField(
        "declared cost (CPU-s/s)",
        default=0.0,
        help_text="what the chain's heavy processors declare per second of audio; "
        "admission adds these up (0 for a light chain)",
    )
    processing_seconds = models.FloatField(
        "processing time (s)",
        default=0.0,
        help_text="spent on decode, processing and encode, summed over its frames",
    )

    # The latest client_stats the client sent; null when it sent none.
    client_rtt_ms_p50 = models.FloatField("client RTT p50 (ms)", null=True, blank=True)
    client_rtt_ms_p95 = models.FloatField("client RTT p95 (ms)", null=True, blank=True)
    client_buffered_ms = models.FloatField(null=True, blank=True)
    client_underruns = models.PositiveBigIntegerField(null=True, blank=True)
    client_overruns = models.PositiveBigIntegerField(null=True, blank=True)

    ended_by = models.CharField(
        max_length=8, choices=EndedBy, blank=True, db_index=True
    )
    close_code = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    close_error = models.CharField(
        max_length=32,
        blank=True,
        db_index=True,
        help_text="the error sent just before the server closed the session",
    )

    worker_host = models.CharField(max_length=255)
    worker_pid = models.PositiveIntegerField()
    client_ip = models.GenericIPAddressField(
        null=True, blank=True, help_text="kept only when WSAUDIO_STORE_CLIENT_IP is on"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audio_sessions",
    )

    objects = UTCDateQuerySet.as_manager()

    class Meta:
        verbose_name = "audio session"
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["client_ip"], name="echo_session_client_ip")]

    def __str__(self) -> str:
        return f"{self.uuid} ({self.rate} Hz {self.format}, {self.processor})"
