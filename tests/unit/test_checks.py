"""Inconsistent WSAUDIO_* settings are reported before the server starts."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError


def test_the_default_settings_pass(settings):
    call_command("check")


@pytest.mark.parametrize(
    ("name", "value", "check_id"),
    [
        ("WSAUDIO_MIN_RATE", 50000, "wsaudio.E001"),
        ("WSAUDIO_DEFAULT_RATE", 4000, "wsaudio.E001"),
        ("WSAUDIO_MIN_RATE", 0, "wsaudio.E001"),
        ("WSAUDIO_MAX_FRAME_SECONDS", 0.0, "wsaudio.E002"),
        # 6 s of f32 at 48000 Hz is 1,152,000 bytes, over the 1 MiB message cap.
        ("WSAUDIO_MAX_FRAME_SECONDS", 6.0, "wsaudio.E003"),
        ("WSAUDIO_MAX_SESSIONS", 0, "wsaudio.E004"),
        ("WSAUDIO_MAX_ERRORS", 0, "wsaudio.E004"),
        ("WSAUDIO_MAX_MESSAGES_PER_SECOND", 0, "wsaudio.E004"),
        ("WSAUDIO_IDLE_TIMEOUT", 0.0, "wsaudio.E004"),
        ("WSAUDIO_MAX_PENDING_SECONDS", 0.0, "wsaudio.E004"),
        ("WSAUDIO_MAX_REALTIME_FACTOR", -1.0, "wsaudio.E004"),
        ("WSAUDIO_BURST_SECONDS", 0.5, "wsaudio.E005"),
        ("WSAUDIO_SHUTDOWN_GRACE", 0.0, "wsaudio.E004"),
        ("WSAUDIO_SHUTDOWN_GRACE", float("inf"), "wsaudio.E004"),
        ("WSAUDIO_METRICS_FLUSH_SECONDS", 0.0, "wsaudio.E004"),
        ("WSAUDIO_METRICS_FLUSH_SECONDS", float("inf"), "wsaudio.E004"),
        ("WSAUDIO_METRICS_RETENTION_DAYS", 0, "wsaudio.E004"),
        ("WSAUDIO_PROCESSORS", ["no.such.Module"], "wsaudio.E006"),
        ("WSAUDIO_PROCESSORS", ["json.JSONDecoder"], "wsaudio.E006"),
        ("WSAUDIO_PROCESSORS", ["echo.processors.Gain"], "wsaudio.E006"),  # twice
    ],
)
def test_inconsistent_settings_fail_the_checks(settings, name, value, check_id):
    setattr(settings, name, value)
    with pytest.raises(SystemCheckError, match=check_id):
        call_command("check")


def test_the_longest_frame_that_fits_the_message_cap_passes(settings):
    settings.WSAUDIO_MAX_FRAME_SECONDS = 5.4  # 1,036,800 bytes at 48000 Hz
    settings.WSAUDIO_BURST_SECONDS = 5.4
    call_command("check")


def test_no_audio_rate_limit_needs_no_burst(settings):
    settings.WSAUDIO_MAX_REALTIME_FACTOR = 0.0
    settings.WSAUDIO_BURST_SECONDS = 0.0
    call_command("check")
