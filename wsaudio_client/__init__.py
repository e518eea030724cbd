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
    TooManyErrors,
    TooManyMessages,
    UnexpectedMessage,
    WsaudioError,
)
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
    "HandshakeFailed",
    "IdleTimeout",
    "NotReading",
    "ProcessingBehind",
    "ProcessingFailed",
    "RateLimited",
    "Ready",
    "Reply",
    "ServerError",
    "Session",
    "SessionClosed",
    "Stage",
    "TooManyErrors",
    "TooManyMessages",
    "UnexpectedMessage",
    "WsaudioError",
    "connect",
    "decode_frame",
    "encode_frame",
]
