"""The client's side of protocol v1: session URLs, the PCM codec, codes, ``ready``.

Pure: no I/O, no Django. It mirrors the server's ``echo.protocol`` for a package
that installs on its own; tests/unit/test_client_wire.py keeps the two in step.
docs/protocol.md is the contract both implement.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import numpy as np

PROTOCOL_VERSION = 1
DEFAULT_RATE = 16384  # the browser client's rate: 1024 samples = 62.5 ms
DEFAULT_FRAME_SAMPLES = 1024
FORMATS = {"f32": np.dtype("<f4"), "s16": np.dtype("<i2")}
MAX_MESSAGE_BYTES = 1 << 20  # the transport cap: longer messages never arrive
_S16_SCALE = 32768.0  # int16 full scale; a power of two, so s16 round trips exactly
# A query key that sets an option: ``<processor>.<option>``, such as ``gain.db``.
OPTION_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}\.[a-z][a-z0-9_]{0,31}")
# The built-in processors whose /api/info/ ``identity`` is true: a chain of these
# alone gives every frame back byte for byte. This client reads no /api/info/, so a
# deployment's own identities are not in it, and their replies go unchecked.
IDENTITY_PROCESSORS = frozenset({"echo", "analysis"})


class CloseCode(IntEnum):
    """WebSocket close codes a wsaudio server sends (docs/protocol.md)."""

    NORMAL = 1000  # the session ended normally
    ENDED_BY_OPERATOR = 4001  # an operator ended the session
    BAD_REQUEST = 4400  # the URL parameters were invalid
    IDLE_TIMEOUT = 4408  # no message within the idle timeout
    FRAME_TOO_LARGE = 4413  # a frame exceeded max_frame_samples
    TOO_MANY = 4429  # too many errors, or too many messages per second
    PROCESSING_FAILED = 4500  # the processor failed on a frame
    SHUTTING_DOWN = 4502  # the server is shutting down
    SERVER_FULL = 4503  # the worker holds its maximum of sessions, or of processing
    PROCESSING_BEHIND = 4504  # the session's processing fell behind its audio
    CLIENT_NOT_READING = 4509  # the client stopped reading its replies


class ErrorCode(StrEnum):
    """The ``code`` of an ``error`` message."""

    BAD_REQUEST = "bad_request"
    BUSY = "busy"
    BAD_FRAME = "bad_frame"
    FRAME_TOO_LARGE = "frame_too_large"
    RATE_LIMITED = "rate_limited"
    BAD_MESSAGE = "bad_message"
    TOO_MANY_ERRORS = "too_many_errors"
    TOO_MANY_MESSAGES = "too_many_messages"
    IDLE_TIMEOUT = "idle_timeout"
    PROCESSING_FAILED = "processing_failed"
    PROCESSING_BEHIND = "processing_behind"
    NOT_READING = "not_reading"
    SHUTTING_DOWN = "shutting_down"


# Errors after which the server closes the session, and the code it closes with;
# the others concern one message and leave the session open.
CLOSING_ERRORS = {
    ErrorCode.BAD_REQUEST: CloseCode.BAD_REQUEST,
    ErrorCode.BUSY: CloseCode.SERVER_FULL,
    ErrorCode.FRAME_TOO_LARGE: CloseCode.FRAME_TOO_LARGE,
    ErrorCode.TOO_MANY_ERRORS: CloseCode.TOO_MANY,
    ErrorCode.TOO_MANY_MESSAGES: CloseCode.TOO_MANY,
    ErrorCode.IDLE_TIMEOUT: CloseCode.IDLE_TIMEOUT,
    ErrorCode.PROCESSING_FAILED: CloseCode.PROCESSING_FAILED,
    ErrorCode.PROCESSING_BEHIND: CloseCode.PROCESSING_BEHIND,
    ErrorCode.NOT_READING: CloseCode.CLIENT_NOT_READING,
    ErrorCode.SHUTTING_DOWN: CloseCode.SHUTTING_DOWN,
}


def session_url(
    server: str,
    rate: int,
    *,
    format: str | None = None,
    processor: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> str:
    """``ws[s]://HOST/ws/echo/<rate>/?...`` for a server given by its base URL.

    ``server`` is where the site is served, with or without a path prefix; http and
    https become ws and wss. ``processor`` is a chain (``"highpass,gain"``) and
    ``options`` its option values by query key (``{"gain.db": -6}``), as text or as
    Python numbers, bools and strings. Parameters left as None take the server's
    defaults. Raise ValueError for a URL or an option key that cannot be sent.
    """
    parts = urlsplit(server)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"{server!r} is not a ws://, wss://, http:// or https:// URL")
    query = {"format": format, "processor": processor}
    query = {key: value for key, value in query.items() if value is not None}
    for key, value in (options or {}).items():
        if not OPTION_KEY.fullmatch(key):
            raise ValueError(
                f"option {key!r} is not <processor>.<option>, such as gain.db"
            )
        query[key] = _option_text(value)
    path = f"{parts.path.rstrip('/')}/ws/echo/{rate}/"
    return urlunsplit((scheme, parts.netloc, path, urlencode(query), ""))


def _option_text(value: Any) -> str:
    """An option value as the query writes it: ``true``/``false``, ``-6``, ``0.5``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"option values must be finite, not {value}")
    return str(value)


def is_identity_chain(names: Iterable[str]) -> bool:
    """Whether a chain of these processors gives every frame back byte for byte."""
    return all(name in IDENTITY_PROCESSORS for name in names)


def encode_frame(samples: np.ndarray, format: str) -> bytes:
    """The wire bytes of float samples in [-1, 1]; s16 rounds and clips as the
    server does, so an echoed s16 frame decodes to the same integers."""
    if format == "f32":
        return np.asarray(samples, dtype=FORMATS["f32"]).tobytes()
    scaled = np.multiply(samples, _S16_SCALE, dtype=np.float32)
    np.rint(scaled, out=scaled)
    np.clip(scaled, -_S16_SCALE, _S16_SCALE - 1, out=scaled)
    return scaled.astype(FORMATS["s16"]).tobytes()


def decode_frame(data: bytes, format: str) -> np.ndarray:
    """float32 samples in [-1, 1]; f32 is a read-only view of ``data``."""
    samples = np.frombuffer(data, dtype=FORMATS[format])
    if format == "s16":
        return np.multiply(samples, 1.0 / _S16_SCALE, dtype=np.float32)
    return samples


def encode_message(message: dict[str, Any]) -> str:
    """A control message as strict JSON (the server refuses NaN and Infinity)."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class Stage:
    """One processor of the session's chain, as ``ready`` announces it."""

    name: str
    options: dict[str, Any]  # every option's resolved value
    fields: dict[str, Any] = field(default_factory=dict)  # such as band_edges_hz

    @classmethod
    def from_message(cls, member: dict[str, Any]) -> Stage:
        fields = {k: v for k, v in member.items() if k not in ("name", "options")}
        return cls(member["name"], dict(member.get("options", {})), fields)


@dataclass(frozen=True)
class Ready:
    """The server's ``ready``: what the session runs with and under which limits."""

    session: str
    rate: int
    format: str
    processor: str  # the chain as the client wrote it
    max_frame_samples: int
    accepts: tuple[str, ...]
    limits: dict[str, Any]
    protocol: int = PROTOCOL_VERSION
    chain: tuple[Stage, ...] = ()

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Ready:
        # Servers from before chains announce none: their processor is the chain.
        names = message["processor"].split(",")
        chain = message.get("chain", [{"name": name} for name in names])
        return cls(
            session=message["session"],
            rate=message["rate"],
            format=message["format"],
            processor=message["processor"],
            max_frame_samples=message["max_frame_samples"],
            accepts=tuple(message.get("accepts", ())),
            limits=dict(message.get("limits", {})),
            protocol=message["protocol"],
            chain=tuple(Stage.from_message(member) for member in chain),
        )

    @property
    def max_realtime_factor(self) -> float | None:
        """The fastest pace audio may be sent at, x real time; None: no limit."""
        factor = self.limits.get("max_realtime_factor")
        return factor or None

    @property
    def identity(self) -> bool:
        """Whether every reply is byte-identical to its frame: the chain holds only
        IDENTITY_PROCESSORS."""
        return is_identity_chain(stage.name for stage in self.chain)
