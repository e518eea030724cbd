"""Under Daphne: what the application sent before its close reaches the client.

When the server has sent its close frame and the client's close frame arrives,
autobahn (Daphne's WebSocket layer) drops the TCP connection with
``abortConnection()``, which throws away whatever Twisted has not written yet: the
last replies, the ``error`` message and the close frame itself. A client whose
close crosses the server's within one turn of the event loop then sees 1006 and
no error, instead of the documented code (crossbario/autobahn-python#887).

Here that drop becomes ``loseConnection()``, which writes the rest first, but only
when something is left to write. With nothing left the abort stays, as autobahn
has it: it resets the connection, which leaves the server no TIME_WAIT socket.
"""

from __future__ import annotations

from autobahn.websocket.protocol import WebSocketProtocol as Autobahn
from daphne.ws_protocol import WebSocketProtocol


def unwritten_bytes(transport) -> int:
    """What Twisted still holds for ``transport``, not yet taken by the kernel."""
    held = len(getattr(transport, "dataBuffer", b"")) - getattr(transport, "offset", 0)
    return held + getattr(transport, "_tempDataLen", 0)


def drop_after_flush(self, abort: bool = False) -> None:
    """autobahn's dropConnection, less the loss of what is still to be written."""
    if abort and self.wasClean and unwritten_bytes(self.transport):
        abort = False  # the closing handshake is complete: deliver the rest first
    Autobahn.dropConnection(self, abort=abort)


def deliver_before_closing() -> None:
    """Install ``drop_after_flush`` on Daphne's protocol; safe to repeat."""
    WebSocketProtocol.dropConnection = drop_after_flush
