"""WebSocket routes of the echo app."""

from django.urls import re_path

from .consumers import EchoConsumer

# Any segment is routed so that a bad rate gets a bad_request error, not a 404.
websocket_urlpatterns = [
    re_path(r"^ws/echo/(?P<rate>[^/]*)/$", EchoConsumer.as_asgi()),
]
