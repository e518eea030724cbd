"""Wire protocol v1: session parameters, PCM frame codec, control messages, codes.

Pure: no Django, no I/O. docs/protocol.md is the contract this module implements.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any
from urllib.parse import parse_qsl

import numpy as np

PROTOCOL_VERSION = 1
DEFAULT_FORMAT = "f32"
DEFAULT_PROCESSOR = "echo"
QUERY_KEYS = ("format", "processor")  # and <processor>.<option> for each option
CONTROL_TYPES = ("ping", "stats", "client_stats", "configure")
MAX_CHAIN_LENGTH = 8  # processors in one session's chain, each named at most once
MAX_PROCESSOR_NAME = 32  # characters (echo.processors.base.NAME_PATTERN)
# The longest chain as the client writes it: the record's processor column.
MAX_CHAIN_TEXT = MAX_CHAIN_LENGTH * (MAX_PROCESSOR_NAME + 1) - 1
# What a client may report in ``client_stats``, by member: an integer count or a
# number of milliseconds, never negative. Other members are ignored.
CLIENT_STATS_FIELDS: dict[str, type] = {
    "rtt_ms_p50": float,
    "rtt_ms_p95": float,
    "buffered_ms": float,
    "underruns": int,
    "overruns": int,
}
# Largest value a member may take: exact in JavaScript (Number.MAX_SAFE_INTEGER),
# in a 64-bit column and as a float.
MAX_CLIENT_COUNT = 2**53 - 1
# The transport cap: the largest WebSocket message the server reads. Daphne and
# Uvicorn must be started with it (docs/protocol.md); a longer message never reaches
# the application, so every valid frame must fit (see ServerConfig.largest_frame_bytes).
MAX_MESSAGE_BYTES = 1 << 20

_RATE_DIGITS = re.compile(r"[0-9]+")
_OPTION_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}\.[a-z][a-z0-9_]{0,31}")
# Longer digit strings are out of range anyway; the cap also keeps int() away from
# Python's 4300-digit conversion limit.
_MAX_RATE_DIGITS = 9


class CloseCode(IntEnum):
    """WebSocket close codes the server sends.

    Daphne can put only 1000 and 3000-4999 on the wire and drops close reasons, so
    the protocol uses 1000 and 4xxx, and an ``error`` message always comes first.
    """

    NORMAL = 1000  # the session ended normally
    ENDED_BY_OPERATOR = 4001  # an operator ended the session
    BAD_REQUEST = 4400  # the URL parameters were invalid
    IDLE_TIMEOUT = 4408  # no message within the idle timeout
    FRAME_TOO_LARGE = 4413  # a frame exceeded max_frame_samples
    TOO_MANY = 4429  # too many errors, or too many messages per second
    PROCESSING_FAILED = 4500  # the processor failed on a frame
    SHUTTING_DOWN = 4502  # the server is shutting down
    SERVER_FULL = 4503  # the worker holds its maximum number of sessions, or its
    # processing budget is spent
    PROCESSING_BEHIND = 4504  # the session's processing fell behind its audio
    CLIENT_NOT_READING = 4509  # the client stopped reading its replies


class ErrorCode(StrEnum):
    """The ``code`` of an ``error`` message."""

    BAD_REQUEST = "bad_request"  # invalid URL parameters; the session closes (4400)
    BUSY = "busy"  # max_sessions held, or the processing budget spent; closes (4503)
    BAD_FRAME = "bad_frame"  # empty frame or partial sample; no reply, stays open
    FRAME_TOO_LARGE = "frame_too_large"  # over max_frame_samples; closes (4413)
    RATE_LIMITED = "rate_limited"  # audio faster than allowed; dropped, stays open
    BAD_MESSAGE = "bad_message"  # text that is not a known control message
    TOO_MANY_ERRORS = "too_many_errors"  # the error budget is spent; closes (4429)
    TOO_MANY_MESSAGES = "too_many_messages"  # over the message rate; closes (4429)
    IDLE_TIMEOUT = "idle_timeout"  # no message within idle_timeout; closes (4408)
    PROCESSING_FAILED = "processing_failed"  # the processor raised; closes (4500)
    PROCESSING_BEHIND = "processing_behind"  # frames wait too long; closes (4504)
    NOT_READING = "not_reading"  # replies pile up unread; closes (4509)
    SHUTTING_DOWN = "shutting_down"  # the server is going; closes (4502)


_CLOSING_ERRORS = {
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

# The client's mistakes that spend its error budget (ServerConfig.max_errors).
BUDGETED_ERRORS = frozenset({ErrorCode.BAD_FRAME, ErrorCode.BAD_MESSAGE})


class ProtocolError(Exception):
    """A rule of the protocol was broken; becomes one ``error`` message."""

    def __init__(
        self, code: ErrorCode, detail: str, *, frame: int | None = None, **fields: Any
    ):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.frame = frame
        self.fields = fields  # extra members of the error message: "dropped", "id"

    @property
    def close_code(self) -> CloseCode | None:
        """The code the session closes with after this error, or None to stay open."""
        return _CLOSING_ERRORS.get(self.code)


@dataclass(frozen=True, slots=True)
class SampleFormat:
    """How one mono sample is laid out on the wire."""

    name: str
    dtype: np.dtype
    description: str

    @property
    def width(self) -> int:
        return self.dtype.itemsize


F32 = SampleFormat("f32", np.dtype("<f4"), "IEEE 754 float32, little-endian, [-1, 1]")
S16 = SampleFormat("s16", np.dtype("<i2"), "signed 16-bit integer, little-endian")
FORMATS = {fmt.name: fmt for fmt in (F32, S16)}
MAX_SAMPLE_WIDTH = max(fmt.width for fmt in FORMATS.values())  # bytes, f32's

_S16_SCALE = 32768.0  # int16 full scale; a power of two, so s16 round trips exactly


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """The server's protocol settings, as announced in ``ready`` and /api/info/."""

    min_rate: int = 8000
    max_rate: int = 48000
    default_rate: int = 16384  # the browser client's rate: 1024 samples = 62.5 ms
    max_frame_seconds: float = 1.0
    max_sessions: int = 1000  # per process
    max_errors: int = 50  # budgeted errors that end a session
    max_messages_per_second: int = 500  # of any kind; the bucket holds one second
    burst_seconds: float = 2.0  # audio a session may send ahead of the allowed pace
    max_realtime_factor: float = 4.0  # allowed audio pace, x the rate; 0 = unlimited
    idle_timeout: float = 60.0  # seconds without any message before the server closes
    max_pending_seconds: float = 5.0  # audio waiting for a client that stopped reading
    # Audio a heavy chain's frames may hold waiting for the processing threads.
    max_processing_backlog_seconds: float = 2.0
    # CPU-seconds per second that this process's heavy sessions may declare in all.
    processing_budget: float = 1.6

    def max_frame_samples(self, rate: int) -> int:
        """The most samples one frame may carry: floor(rate x max_frame_seconds)."""
        # In decimal, as the setting is written: 0.29 s x 100 Hz is 29, not 28.99...
        return math.floor(Decimal(repr(self.max_frame_seconds)) * rate)

    def largest_frame_bytes(self) -> int:
        """The longest valid frame on the wire: widest format at the highest rate."""
        return MAX_SAMPLE_WIDTH * self.max_frame_samples(self.max_rate)

    def limits(self) -> dict[str, Any]:
        """Every limit a session runs under, by name, as announced to clients."""
        return {
            "max_message_bytes": MAX_MESSAGE_BYTES,
            "max_frame_seconds": self.max_frame_seconds,
            "max_sessions": self.max_sessions,
            "max_errors": self.max_errors,
            "max_messages_per_second": self.max_messages_per_second,
            "burst_seconds": self.burst_seconds,
            "max_realtime_factor": self.max_realtime_factor,
            "idle_timeout": self.idle_timeout,
            "max_pending_seconds": self.max_pending_seconds,
            "max_processing_backlog_seconds": self.max_processing_backlog_seconds,
            "processing_budget": self.processing_budget,
        }


@dataclass(frozen=True, slots=True)
class SessionParams:
    """What a client asked for in its URL, once its syntax is validated.

    The option values are still text: the processors' schemas check them.
    """

    rate: int
    format: SampleFormat
    processor: str  # the chain as the client wrote it
    chain: tuple[str, ...] = (DEFAULT_PROCESSOR,)
    option_texts: dict[str, dict[str, str]] = field(default_factory=dict)


def parse_session_params(
    rate_segment: str,
    query_string: bytes,
    *,
    min_rate: int,
    max_rate: int,
    processors: Collection[str],
) -> SessionParams:
    """Validate ``ws/echo/<rate>/?format=..&processor=a,b&a.option=..``; raise
    ``bad_request``."""
    rate = _parse_rate(rate_segment, min_rate, max_rate)
    query, option_keys = _parse_query(query_string)
    fmt_name = query.get("format", DEFAULT_FORMAT)
    if fmt_name not in FORMATS:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            f"format {fmt_name!r} is not supported; use one of: {', '.join(FORMATS)}",
        )
    processor = query.get("processor", DEFAULT_PROCESSOR)
    chain = _parse_chain(processor, processors)
    option_texts: dict[str, dict[str, str]] = {}
    for key, value in option_keys.items():
        name, _, option = key.partition(".")
        if name not in chain:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST,
                f"query key {key!r} sets an option of {name!r}, which is not in the "
                f"chain; the chain is {', '.join(chain)}",
            )
        option_texts.setdefault(name, {})[option] = value
    return SessionParams(
        rate=rate,
        format=FORMATS[fmt_name],
        processor=processor,
        chain=chain,
        option_texts=option_texts,
    )


def _parse_chain(text: str, processors: Collection[str]) -> tuple[str, ...]:
    known = f"use one or more of {', '.join(processors)}, separated by commas"
    names = tuple(text.split(","))
    for name in names:
        if name not in processors:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, f"processor {name[:40]!r} is unknown; {known}"
            )
    if len(names) > MAX_CHAIN_LENGTH:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            f"the chain has {len(names)} processors; at most {MAX_CHAIN_LENGTH}",
        )
    for name in names:
        if names.count(name) > 1:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST,
                f"processor {name!r} is named twice; each may run once per chain",
            )
    return names


def _parse_rate(segment: str, min_rate: int, max_rate: int) -> int:
    allowed = f"an integer sample rate in Hz from {min_rate} to {max_rate}"
    if not _RATE_DIGITS.fullmatch(segment):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            f"rate {segment!r} is not ASCII digits; use {allowed}",
        )
    if len(segment) > _MAX_RATE_DIGITS or not min_rate <= int(segment) <= max_rate:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, f"rate {segment} is out of range; use {allowed}"
        )
    return int(segment)


def _parse_query(query_string: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """The session keys and the option keys (``<processor>.<option>``) apart."""
    allowed = (
        f"allowed keys are {' and '.join(QUERY_KEYS)}, and <processor>.<option> "
        "for an option of a processor in the chain"
    )
    try:
        pairs = parse_qsl(
            query_string.decode("ascii"), keep_blank_values=True, errors="strict"
        )
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, f"the query string is not valid; {allowed}"
        ) from None
    query: dict[str, str] = {}
    options: dict[str, str] = {}
    for key, value in pairs:
        is_option = _OPTION_KEY.fullmatch(key) is not None
        if key not in QUERY_KEYS and not is_option:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, f"query key {key[:40]!r} is unknown; {allowed}"
            )
        chosen = options if is_option else query
        if key in chosen:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, f"query key {key!r} is given twice; {allowed}"
            )
        chosen[key] = value
    return query, options


def frame_length(
    data: bytes, fmt: SampleFormat, *, index: int, max_samples: int
) -> int:
    """Samples in binary message ``index``; raise bad_frame, then frame_too_large."""
    if not data:
        raise ProtocolError(ErrorCode.BAD_FRAME, "the frame is empty", frame=index)
    if len(data) % fmt.width:
        raise ProtocolError(
            ErrorCode.BAD_FRAME,
            f"the frame has {len(data)} bytes, not a whole number of "
            f"{fmt.width}-byte {fmt.name} samples",
            frame=index,
        )
    samples = len(data) // fmt.width
    if samples > max_samples:
        raise ProtocolError(
            ErrorCode.FRAME_TOO_LARGE,
            f"the frame has {samples} samples; max_frame_samples is {max_samples}",
            frame=index,
            max_frame_samples=max_samples,
        )
    return samples


def decode_frame(data: bytes, fmt: SampleFormat) -> np.ndarray:
    """Samples of a frame that passed ``frame_length``, as float32 in [-1, 1].

    f32 comes back as a read-only zero-copy view of ``data``; s16 costs one array.
    Non-finite values are left in: see ``replace_nonfinite``.
    """
    samples = np.frombuffer(data, dtype=fmt.dtype)
    if fmt is S16:
        return np.multiply(samples, 1.0 / _S16_SCALE, dtype=np.float32)
    return samples


def replace_nonfinite(samples: np.ndarray) -> tuple[np.ndarray, int]:
    """``samples`` with NaN and +-Inf replaced by 0.0, and how many there were.

    Finite input (the usual case) is returned as is, without a copy.
    """
    finite = np.isfinite(samples)  # about 1.5 us for 1024 samples; no FP warnings
    if finite.all():
        return samples, 0
    return np.where(finite, samples, np.float32(0.0)), int(finite.size - finite.sum())


def encode_frame(samples: np.ndarray, fmt: SampleFormat) -> bytes:
    """The wire bytes of float32 ``samples``; s16 rounds and clips to int16."""
    if fmt is F32:
        return samples.astype(F32.dtype, copy=False).tobytes()
    scaled = np.multiply(samples, _S16_SCALE, dtype=np.float32)
    np.rint(scaled, out=scaled)
    np.clip(scaled, -_S16_SCALE, _S16_SCALE - 1, out=scaled)
    return scaled.astype(S16.dtype).tobytes()


def parse_control(text: str) -> dict[str, Any]:
    """A text message as a control message object; raise ``bad_message``."""
    try:
        message = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, "text messages must be JSON objects"
        ) from None
    if not isinstance(message, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "text messages must be JSON objects")
    kind = message.get("type")
    if kind not in CONTROL_TYPES:
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE,
            f"message type {kind!r} is unknown; the server accepts: "
            f"{', '.join(CONTROL_TYPES)}",
        )
    return message


def _reject_constant(name: str) -> None:
    # Python reads NaN and Infinity, which are not JSON: echoing one back in a pong
    # would send the client text that its own JSON parser refuses.
    raise ValueError(f"{name} is not JSON")


def encode_message(message: dict[str, Any]) -> str:
    """A control message as the text of one WebSocket message (strict JSON)."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


def ready_message(
    *,
    session: str,
    params: SessionParams,
    config: ServerConfig,
    chain: list[dict[str, Any]],
    latency_samples: int = 0,
) -> dict[str, Any]:
    """``chain``: each processor in order, with every option's resolved value;
    ``latency_samples``: how late the chain's output is (leading silence)."""
    max_frame_samples = config.max_frame_samples(params.rate)
    return {
        "type": "ready",
        "protocol": PROTOCOL_VERSION,
        "session": session,
        "rate": params.rate,
        "format": params.format.name,
        "processor": params.processor,
        "chain": chain,
        "latency_samples": latency_samples,
        "max_frame_samples": max_frame_samples,
        "accepts": list(CONTROL_TYPES),
        "limits": {"max_frame_samples": max_frame_samples, **config.limits()},
    }


def error_message(error: ProtocolError) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "error",
        "code": str(error.code),
        "detail": error.detail,
    }
    if error.frame is not None:
        message["frame"] = error.frame
    message.update(error.fields)
    return message


def configure_request(message: dict[str, Any]) -> tuple[Any, Any]:
    """The processor and option values a ``configure`` message names, as given:
    the chain checks them; raise ``bad_message`` for a message of the wrong shape."""
    processor, options = message.get("processor"), message.get("options")
    if type(processor) is not str or type(options) is not dict:
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE,
            "configure needs processor (a name in the chain) and options (an object "
            "of option names and values)",
            **_echoed_id(message),
        )
    return processor, options


def _echoed_id(message: dict[str, Any]) -> dict[str, Any]:
    return {"id": message["id"]} if "id" in message else {}


def configured_message(
    request: dict[str, Any], processor: str, values: dict[str, Any]
) -> dict[str, Any]:
    return {
        "type": "configured",
        "id": request.get("id"),
        "processor": processor,
        "options": values,
    }


def configure_error(request: dict[str, Any], detail: str) -> ProtocolError:
    """The bad_message for a configure its processor refused, carrying its id."""
    return ProtocolError(ErrorCode.BAD_MESSAGE, detail, **_echoed_id(request))


def analysis_message(frame: int, processor: str, values: dict[str, Any]) -> dict:
    return {"type": "analysis", "frame": frame, "processor": processor, **values}


def pong_message(ping: dict[str, Any], server_time: float) -> dict[str, Any]:
    return {"type": "pong", "id": ping.get("id"), "server_time": server_time}


def client_stats_values(message: dict[str, Any]) -> dict[str, float | int]:
    """The known members of a ``client_stats`` message; raise ``bad_message``."""
    values: dict[str, float | int] = {}
    for name, kind in CLIENT_STATS_FIELDS.items():
        if name not in message:
            continue
        value = message[name]
        if kind is int:
            valid = type(value) is int and 0 <= value <= MAX_CLIENT_COUNT
            wanted = f"an integer from 0 to {MAX_CLIENT_COUNT}"
        else:  # JSON has one number type: 12 is as good as 12.0
            valid = type(value) in (int, float) and 0 <= value <= MAX_CLIENT_COUNT
            wanted = "a number of milliseconds, 0 or more"
        if not valid:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE,
                f"client_stats {name} must be {wanted}, not {json.dumps(value)[:40]}",
            )
        values[name] = float(value) if kind is float else value
    return values
