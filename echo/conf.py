"""The protocol settings of this deployment, read from Django settings."""

from functools import lru_cache

from django.conf import settings

from .processors import BUILTINS, Processor, build_registry, load_processor
from .protocol import ServerConfig


def server_config() -> ServerConfig:
    """Read on every use, so a change of settings (or a test override) applies."""
    return ServerConfig(
        min_rate=settings.WSAUDIO_MIN_RATE,
        max_rate=settings.WSAUDIO_MAX_RATE,
        default_rate=settings.WSAUDIO_DEFAULT_RATE,
        max_frame_seconds=settings.WSAUDIO_MAX_FRAME_SECONDS,
        max_sessions=settings.WSAUDIO_MAX_SESSIONS,
        max_errors=settings.WSAUDIO_MAX_ERRORS,
        max_messages_per_second=settings.WSAUDIO_MAX_MESSAGES_PER_SECOND,
        burst_seconds=settings.WSAUDIO_BURST_SECONDS,
        max_realtime_factor=settings.WSAUDIO_MAX_REALTIME_FACTOR,
        idle_timeout=settings.WSAUDIO_IDLE_TIMEOUT,
        max_pending_seconds=settings.WSAUDIO_MAX_PENDING_SECONDS,
        max_processing_backlog_seconds=settings.WSAUDIO_MAX_PROCESSING_BACKLOG_SECONDS,
        processing_budget=settings.WSAUDIO_PROCESSING_BUDGET,
    )


def processor_registry() -> dict[str, type[Processor]]:
    """The built-ins and the classes WSAUDIO_PROCESSORS names, by name."""
    return _registry(tuple(settings.WSAUDIO_PROCESSORS))


@lru_cache(maxsize=4)
def _registry(paths: tuple[str, ...]) -> dict[str, type[Processor]]:
    return build_registry([*BUILTINS, *(load_processor(path) for path in paths)])
