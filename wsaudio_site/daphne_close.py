"""Under Daphne: what the application sent before a close reaches the client, and
a client that stops reading cannot hold its connection open.

autobahn (Daphne's WebSocket layer) ends a connection whose closing handshake is
complete in one of two ways, both wrong for a server that streams:

- When the server has sent its close frame and the client's arrives, it drops the
  TCP connection with ``abortConnection()``, which throws away whatever Twisted has
  not written yet: the last replies, the ``error`` message and the close frame
  itself. A client whose close crosses the server's within one turn of the event
  loop then sees 1006 and no error (crossbario/autobahn-python#887).
- When the client closes first, it answers and calls ``loseConnection()``, which
  waits for the write buffer to drain, for ever if the client has stopped reading.
  Daphne tells the application only once the connection is lost, so the session
  and its seat stay taken.

Here a clean end flushes first and aborts if the client has not taken the rest
within a second; an unclean one (a timeout, a protocol failure) aborts at once,
as before.
"""

from __future__ import annotations

from autobahn.websocket.protocol import WebSocketProtocol as Autobahn
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import reactor

# The same as Daphne's closing-handshake timeout: the time a client gets to answer
# the server's close is the time it gets to read what came before it.
FLUSH_SECONDS = 1.0


def abort_if_still_open(transport) -> None:
    if transport.connected:
        transport.abortConnection()


def drop_after_flush(self, abort: bool = False) -> None:
    """autobahn's dropConnection, flushing (for a while) whenever the end is clean."""
    flush = self.wasClean or not abort
    if flush and self.state != Autobahn.STATE_CLOSED:
        reactor.callLater(FLUSH_SECONDS, abort_if_still_open, self.transport)
    Autobahn.dropConnection(self, abort=not flush)


def deliver_before_closing() -> None:
    """Install ``drop_after_flush`` on Daphne's protocol; safe to repeat."""
    WebSocketProtocol.dropConnection = drop_after_flush
