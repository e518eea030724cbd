"""HTTP endpoints: the page, what the server offers, and whether it can serve."""

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import protocol
from .conf import processor_registry, server_config
from .records import flusher
from .sessions.limits import PROCESSING, SESSIONS
from .sessions.stats import REFUSED
from .shutdown import DRAIN


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "echo/index.html", {"config": server_config()})


@require_safe
def protocol_doc(request: HttpRequest) -> FileResponse:
    """The protocol contract, served from the repository it describes."""
    path = settings.BASE_DIR / "docs" / "protocol.md"
    return FileResponse(path.open("rb"), content_type="text/markdown; charset=utf-8")


@require_safe
def api_info(request: HttpRequest) -> JsonResponse:
    """Everything a client needs to build its choices before connecting."""
    config = server_config()
    return JsonResponse(
        {
            "protocol": protocol.PROTOCOL_VERSION,
            "rates": {
                "min": config.min_rate,
                "max": config.max_rate,
                "default": config.default_rate,
            },
            "formats": [
                {"name": fmt.name, "description": fmt.description}
                for fmt in protocol.FORMATS.values()
            ],
            "default_format": protocol.DEFAULT_FORMAT,
            "processors": [cls.schema() for cls in processor_registry().values()],
            "max_chain_length": protocol.MAX_CHAIN_LENGTH,
            "default_processor": protocol.DEFAULT_PROCESSOR,
            "max_frame_seconds": config.max_frame_seconds,
            "accepts": list(protocol.CONTROL_TYPES),
            "limits": config.limits(),
            # The rest is about this server process.
            "sessions_open": SESSIONS.taken,
            "sessions_refused": {
                reason: REFUSED[reason]
                for reason in ("origin", "bad_request", "busy", "shutting_down")
            },
            "processing": {
                "threads": settings.WSAUDIO_PROCESSING_THREADS,
                "budget": config.processing_budget,
                "in_use": round(PROCESSING.in_use, 6),
                "heavy_sessions": PROCESSING.sessions,
            },
            "metrics": {
                "stored": settings.WSAUDIO_STORE_METRICS,
                "flush_seconds": settings.WSAUDIO_METRICS_FLUSH_SECONDS,
                "unsaved_final_records": len(flusher.FLUSHER.final_rows),
                "failing": flusher.FLUSHER.failing,
                "last_flush": flusher.FLUSHER.last_flush,
            },
        }
    )


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when this process can serve, including a round trip to its database;
    503 from the moment it drains for a shutdown, so that balancers look elsewhere."""
    if DRAIN.draining:
        return JsonResponse({"status": "unavailable", "draining": True}, status=503)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return JsonResponse(
            {"status": "unavailable", "database": type(exc).__name__}, status=503
        )
    return JsonResponse({"status": "ok", "database": "ok"})
