"""System checks: inconsistent WSAUDIO_* settings are reported by manage.py check."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_protocol_settings(app_configs, **kwargs) -> list[Error]:
    errors = []
    low, default, high = (
        settings.WSAUDIO_MIN_RATE,
        settings.WSAUDIO_DEFAULT_RATE,
        settings.WSAUDIO_MAX_RATE,
    )
    if not 0 < low <= default <= high:
        errors.append(
            Error(
                f"sample rates must satisfy 0 < WSAUDIO_MIN_RATE ({low}) <= "
                f"WSAUDIO_DEFAULT_RATE ({default}) <= WSAUDIO_MAX_RATE ({high})",
                id="wsaudio.E001",
            )
        )
    if not settings.WSAUDIO_MAX_FRAME_SECONDS > 0:
        errors.append(
            Error(
                "WSAUDIO_MAX_FRAME_SECONDS must be a positive number of seconds",
                id="wsaudio.E002",
            )
        )
    return errors
