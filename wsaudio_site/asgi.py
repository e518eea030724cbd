"""ASGI entry point: Django for HTTP, the echo consumer for WebSocket, and the
lifespan events of servers that send them (Uvicorn)."""

import gc
import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wsaudio_site.settings")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import CookieMiddleware  # noqa: E402

from echo.conf import processor_registry  # noqa: E402
from echo.lifespan import lifespan  # noqa: E402
from echo.origin import OriginCheck  # noqa: E402
from echo.routing import websocket_urlpatterns  # noqa: E402
from echo.shutdown import DRAIN  # noqa: E402

# A WSAUDIO_PROCESSORS entry that does not import stops the server here, at its
# start, rather than failing every session's handshake (manage.py check says why).
processor_registry()

if "daphne.server" in sys.modules:  # served by Daphne (its CLI or runserver)
    import asyncio

    from twisted.internet import reactor

    from .daphne_close import deliver_before_closing

    deliver_before_closing()
    # Once the reactor runs, Twisted has installed its SIGTERM handler, and Daphne
    # has made the reactor's asyncio loop the current one.
    reactor.callWhenRunning(lambda: DRAIN.install(asyncio.get_event_loop()))

application = ProtocolTypeRouter(
    {
        # Its requests in flight are counted: a drain lets them end (echo.shutdown).
        "http": DRAIN.http(django_asgi_app),
        # Cookies only: the session's user is looked up by the metrics flusher, so
        # no handshake waits for the database (echo.records.flusher).
        "websocket": OriginCheck(CookieMiddleware(URLRouter(websocket_urlpatterns))),
        "lifespan": lifespan,
    }
)

# Tuning for the event loop that carries every session of this process.
# Everything loaded so far (the processors' libraries included) lives as long as
# the process: move it out of the cyclic garbage collector's sight, so that a full
# collection (which stops every session) walks only the objects made since.
# Measured under Uvicorn with 500 streams: full collections of 14-33 ms, the
# longest stalls of a run.
gc.freeze()
# While the metrics flusher writes records on its thread, the loop gets the GIL
# back only every switch interval (5 ms by default), several times per flush.
# Measured under Uvicorn with 800 streams: the loop's stalls at each flush went
# from 10-14 ms to 4-7 ms with 0.5 ms.
sys.setswitchinterval(0.0005)
