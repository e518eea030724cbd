"""WebSocket routes of the echo app."""

from django.urls import re_path

from .consumers import EchoConsumer

# Whatever stands between ws/echo/ and the last slash (even nothing, a decoded %2F
# or a newline) is routed, so that a bad rate gets bad_request, not a failed handshake.
websocket_urlpatterns = [
    re_path(r"^ws/echo/(?P<rate>(?s:.*))/$", EchoConsumer.as_asgi()),
]
