"""System checks: inconsistent WSAUDIO_* settings are reported by manage.py check."""

import math

from django.conf import settings
from django.core.checks import Error, register

from .conf import processor_registry, server_config
from .protocol import MAX_MESSAGE_BYTES, MAX_SAMPLE_WIDTH


@register()
def check_protocol_settings(app_configs, **kwargs) -> list[Error]:
    config = server_config()
    errors = []
    low, default, high = config.min_rate, config.default_rate, config.max_rate
    if not 0 < low <= default <= high:
        errors.append(
            Error(
                f"sample rates must satisfy 0 < WSAUDIO_MIN_RATE ({low}) <= "
                f"WSAUDIO_DEFAULT_RATE ({default}) <= WSAUDIO_MAX_RATE ({high})",
                id="wsaudio.E001",
            )
        )
    if not config.max_frame_seconds > 0:
        errors.append(
            Error(
                "WSAUDIO_MAX_FRAME_SECONDS must be a positive number of seconds",
                id="wsaudio.E002",
            )
        )
    elif high > 0 and config.largest_frame_bytes() > MAX_MESSAGE_BYTES:
        longest = MAX_MESSAGE_BYTES / (MAX_SAMPLE_WIDTH * high)
        errors.append(
            Error(
                f"WSAUDIO_MAX_FRAME_SECONDS ({config.max_frame_seconds:g}) allows "
                f"frames of {config.largest_frame_bytes()} bytes at "
                f"WSAUDIO_MAX_RATE ({high}), over the {MAX_MESSAGE_BYTES}-byte "
                "WebSocket message cap",
                hint=f"use at most {longest:.3f} seconds",
                id="wsaudio.E003",
            )
        )
    errors += [
        Error(f"{name} must be {rule}", id="wsaudio.E004")
        for name, valid, rule in (
            ("WSAUDIO_MAX_SESSIONS", config.max_sessions >= 1, "at least 1"),
            ("WSAUDIO_MAX_ERRORS", config.max_errors >= 1, "at least 1"),
            (
                "WSAUDIO_MAX_MESSAGES_PER_SECOND",
                config.max_messages_per_second >= 1,
                "at least 1",
            ),
            ("WSAUDIO_IDLE_TIMEOUT", config.idle_timeout > 0, "positive"),
            ("WSAUDIO_MAX_PENDING_SECONDS", config.max_pending_seconds > 0, "positive"),
            ("WSAUDIO_MAX_REALTIME_FACTOR", config.max_realtime_factor >= 0, ">= 0"),
            (
                "WSAUDIO_PROCESSING_THREADS",
                settings.WSAUDIO_PROCESSING_THREADS >= 1,
                "at least 1",
            ),
            (
                "WSAUDIO_PROCESSING_BUDGET",
                0 <= config.processing_budget < math.inf,
                "a number of CPU-seconds per second, 0 or more",
            ),
            (
                "WSAUDIO_MAX_PROCESSING_BACKLOG_SECONDS",
                0 < config.max_processing_backlog_seconds < math.inf,
                "a positive number of seconds",
            ),
            (
                "WSAUDIO_SHUTDOWN_GRACE",
                0 < settings.WSAUDIO_SHUTDOWN_GRACE < math.inf,
                "a positive number of seconds",
            ),
            (
                "WSAUDIO_METRICS_FLUSH_SECONDS",
                0 < settings.WSAUDIO_METRICS_FLUSH_SECONDS < math.inf,
                "a positive number of seconds",
            ),
            (
                "WSAUDIO_METRICS_RETENTION_DAYS",
                settings.WSAUDIO_METRICS_RETENTION_DAYS is None
                or settings.WSAUDIO_METRICS_RETENTION_DAYS >= 1,
                "unset or at least 1 day",
            ),
        )
        if not valid
    ]
    if config.max_realtime_factor > 0 and not (
        config.burst_seconds >= config.max_frame_seconds
    ):
        errors.append(
            Error(
                f"WSAUDIO_BURST_SECONDS ({config.burst_seconds:g}) is shorter than "
                f"WSAUDIO_MAX_FRAME_SECONDS ({config.max_frame_seconds:g}): the "
                "longest valid frame could never pass the audio rate limit",
                id="wsaudio.E005",
            )
        )
    try:
        processor_registry()
    except (ImportError, ValueError) as error:
        errors.append(Error(f"WSAUDIO_PROCESSORS: {error}", id="wsaudio.E006"))
    return errors
