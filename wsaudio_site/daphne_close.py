"""Under Daphne: what the application sent before its close reaches the client.

When the server has sent its close frame and the client's close frame arrives,
autobahn (Daphne's WebSocket layer) drops the TCP connection with
``abortConnection()``, which throws away whatever Twisted has not written yet: the
last replies, the ``error`` message and the close frame itself. A client whose
close crosses the server's within one turn of the event loop then sees 1006 and
no error, instead of the documented code (crossbario/autobahn-python#887). Once
the closing handshake is complete, the connection is dropped after a flush here,
and aborted only if the client has not taken the rest within a second.
"""

from __future__ import annotations

from autobahn.websocket.protocol import WebSocketProtocol as Autobahn
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import reactor

# A client that sent its close and then stopped reading does not hold the socket
# longer than this: the same as Daphne's closing-handshake timeout.
FLUSH_SECONDS = 1.0


def abort_if_still_open(transport) -> None:
    if transport.connected:
        transport.abortConnection()


def drop_after_flush(self, abort: bool = False) -> None:
    """autobahn's dropConnection, less the abort once both closes have crossed."""
    closing = self.state == Autobahn.STATE_CLOSING
    handshake_complete = abort and self.wasClean and closing
    Autobahn.dropConnection(self, abort=abort and not handshake_complete)
    if handshake_complete:
        reactor.callLater(FLUSH_SECONDS, abort_if_still_open, self.transport)


def deliver_before_closing() -> None:
    """Install ``drop_after_flush`` on Daphne's protocol; safe to repeat."""
    WebSocketProtocol.dropConnection = drop_after_flush
