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
    ],
)
def test_inconsistent_settings_fail_the_checks(settings, name, value, check_id):
    setattr(settings, name, value)
    with pytest.raises(SystemCheckError, match=check_id):
        call_command("check")
