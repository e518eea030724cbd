"""Typed exceptions: one per error code of docs/protocol.md, and the ways a
connection can end without one."""

from __future__ import annotations

from typing import Any

from .wire import CLOSING_ERRORS, ErrorCode


class WsaudioError(Exception):
    """Anything that went wrong talking to a wsaudio server."""


class HandshakeFailed(WsaudioError):
    """No WebSocket: the server could not be reached or refused the handshake
    (``status`` 403 is an origin the server does not allow)."""

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.status = status


class SessionClosed(WsaudioError):
    """The connection closed with no ``error`` message before it.

    ``close_code`` is what the server sent: 1000 for a normal end, or None when the
    connection dropped without a close frame (what browsers report as 1006).
    """

    def __init__(self, close_code: int | None) -> None:
        super().__init__(
            f"the session closed with code {close_code}"
            if close_code is not None
            else "the connection dropped without a close frame"
        )
        self.close_code = close_code


class UnexpectedMessage(WsaudioError):
    """The server sent something protocol v1 does not allow at that point."""


class ServerError(WsaudioError):
    """An ``error`` message from the server.

    ``frame`` is the index of the binary message it concerns (None for errors about
    the session). For errors that end the session, ``close_code`` is the code the
    server closed with once the close has arrived (None if it never did).
    """

    code: str = ""

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        frame: int | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        if code is not None:
            self.code = code
        self.detail = detail
        self.frame = frame
        self.fields = fields or {}  # other members, such as "dropped"
        self.close_code: int | None = None

    @property
    def closes_session(self) -> bool:
        """Whether the protocol says the server closes the session after this error."""
        return self.code in CLOSING_ERRORS

    def __str__(self) -> str:
        where = f" (frame {self.frame})" if self.frame is not None else ""
        closed = f"; closed with {self.close_code}" if self.close_code else ""
        return f"{self.code}{where}: {self.detail}{closed}"

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> ServerError:
        """The exception for an ``error`` message; an unknown code gets this class."""
        code = str(message.get("code"))
        fields = {
            key: value
            for key, value in message.items()
            if key not in ("type", "code", "detail", "frame")
        }
        return ERRORS.get(code, cls)(
            str(message.get("detail", "")),
            code=code,
            frame=message.get("frame"),
            fields=fields,
        )


class BadRequest(ServerError):
    """The URL parameters are invalid (close 4400)."""

    code = ErrorCode.BAD_REQUEST


class Busy(ServerError):
    """The server process holds its maximum of sessions, or its processing budget
    is spent (close 4503)."""

    code = ErrorCode.BUSY


class BadFrame(ServerError):
    """A binary message was empty or held a partial sample; the session stays open."""

    code = ErrorCode.BAD_FRAME


class FrameTooLarge(ServerError):
    """A frame was longer than ``max_frame_samples`` (close 4413)."""

    code = ErrorCode.FRAME_TOO_LARGE


class RateLimited(ServerError):
    """Audio came faster than the server allows; the frame was dropped, the
    session stays open. ``fields["dropped"]`` counts the drops so far."""

    code = ErrorCode.RATE_LIMITED


class BadMessage(ServerError):
    """A text message was not a control message the server accepts."""

    code = ErrorCode.BAD_MESSAGE


class TooManyErrors(ServerError):
    """The session spent its error budget (close 4429)."""

    code = ErrorCode.TOO_MANY_ERRORS


class TooManyMessages(ServerError):
    """More messages per second than the server allows (close 4429)."""

    code = ErrorCode.TOO_MANY_MESSAGES


class IdleTimeout(ServerError):
    """No message reached the server for ``idle_timeout`` seconds (close 4408)."""

    code = ErrorCode.IDLE_TIMEOUT


class ProcessingFailed(ServerError):
    """The processor failed on a frame (close 4500)."""

    code = ErrorCode.PROCESSING_FAILED


class ProcessingBehind(ServerError):
    """The chain's frames waited for the server's processing threads beyond
    ``max_processing_backlog_seconds`` of audio (close 4504)."""

    code = ErrorCode.PROCESSING_BEHIND


class NotReading(ServerError):
    """Replies piled up unread beyond ``max_pending_seconds`` of audio (close 4509)."""

    code = ErrorCode.NOT_READING


class ShuttingDown(ServerError):
    """The server process is going; a new session, on it once it is back or on
    another server, carries on (close 4502)."""

    code = ErrorCode.SHUTTING_DOWN


ERRORS: dict[str, type[ServerError]] = {
    cls.code: cls
    for cls in (
        BadRequest,
        Busy,
        BadFrame,
        FrameTooLarge,
        RateLimited,
        BadMessage,
        TooManyErrors,
        TooManyMessages,
        IdleTimeout,
        ProcessingFailed,
        ProcessingBehind,
        NotReading,
        ShuttingDown,
    )
}
