"""A Python client for wsaudio servers: stream audio from scripts, services and
the terminal (``python -m wsaudio_client --help``). It does not need Django."""

from .errors import (
    BadFrame,
    BadMessage,
    BadRequest,
    Busy,
    FrameTooLarge,
    HandshakeFailed,
    IdleTimeout,
    NotReading,
    ProcessingBehind,
    ProcessingFailed,
    RateLimited,
    ServerError,
    SessionClosed,
    ShuttingDown,
    TooManyErrors,
    TooManyMessages,
    UnexpectedMessage,
    WsaudioError,
)
from .reconnect import Gap, Reconnect
from .reconnecting_session import ReconnectingSession
from .session import Reply, Session, connect
from .wire import CloseCode, ErrorCode, Ready, Stage, decode_frame, encode_frame

__all__ = [
    "BadFrame",
    "BadMessage",
    "BadRequest",
    "Busy",
    "CloseCode",
    "ErrorCode",
    "FrameTooLarge",
    "Gap",
    "HandshakeFailed",
    "IdleTimeout",
    "NotReading",
    "ProcessingBehind",
    "ProcessingFailed",
    "RateLimited",
    "Ready",
    "Reconnect",
    "ReconnectingSession",
    "Reply",
    "ServerError",
    "Session",
    "SessionClosed",
    "ShuttingDown",
    "Stage",
    "TooManyErrors",
    "TooManyMessages",
    "UnexpectedMessage",
    "WsaudioError",
    "connect",
    "decode_frame",
    "encode_frame",
]
