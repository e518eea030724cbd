"""One client's audio session: its limits, frames through its processor, replies.

Pure: no Django, no I/O, no clock of its own (callers pass ``now``, monotonic
seconds), so every rule of the protocol can be exercised directly.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from .. import protocol
from ..processors import PROCESSORS, Chain, OptionError, Processor
from ..processors.chain import StageFailed
from ..protocol import ErrorCode, ProtocolError, ServerConfig, SessionParams
from .limits import TokenBucket
from .stats import SessionStats


class Frame(NamedTuple):
    """An accepted binary message on its way through the chain."""

    index: int  # among all binary messages of the session
    data: bytes  # as received
    decoded: np.ndarray  # a view of ``data`` (f32) or its samples as float32 (s16)
    samples: np.ndarray  # what the chain takes: ``decoded``, non-finite values 0.0
    decode_ns: int  # how long its decoding took


class AudioSession:
    """State of one accepted WebSocket session, from ``ready`` to close."""

    def __init__(
        self,
        params: SessionParams,
        chain: Chain,
        config: ServerConfig,
        now: float,
    ) -> None:
        self.id = str(uuid.uuid4())
        self.params = params
        self.chain = chain
        self.reports_analysis = bool(chain.reporters)  # messages after some replies
        self.heavy = chain.heavy  # runs on the processing threads, admitted by cost
        self.config = config
        self.stats = SessionStats()
        self.client_stats: dict[str, float | int] = {}  # latest of each, as reported
        self.client_reports = 0  # client_stats messages taken
        self.binary_messages = 0  # every binary message so far: the next frame index
        self.last_message = now  # when the latest message of any kind arrived
        self.max_frame_samples = config.max_frame_samples(params.rate)
        self.max_unsent_samples = config.max_pending_seconds * params.rate
        self.max_backlog_samples = config.max_processing_backlog_seconds * params.rate
        # Text messages that may wait behind a heavy chain's frames, as many as
        # the message rate lets in while its frames fill their backlog.
        self.max_backlog_messages = math.ceil(
            config.max_messages_per_second * (1 + config.max_processing_backlog_seconds)
        )
        self.errors_left = config.max_errors
        per_second = config.max_messages_per_second
        self.message_budget = TokenBucket(per_second, per_second, now)
        self.audio_budget = (
            TokenBucket(
                config.burst_seconds * params.rate,
                config.max_realtime_factor * params.rate,
                now,
            )
            if config.max_realtime_factor > 0
            else None
        )

    @classmethod
    def open(
        cls,
        config: ServerConfig,
        rate_segment: str,
        query_string: bytes,
        now: float,
        registry: Mapping[str, type[Processor]] = PROCESSORS,
    ) -> AudioSession:
        """A session for the request's URL parameters; raise ``bad_request``."""
        params = protocol.parse_session_params(
            rate_segment,
            query_string,
            min_rate=config.min_rate,
            max_rate=config.max_rate,
            processors=registry,
        )
        try:
            chain = Chain.build(
                registry, params.chain, params.option_texts, params.rate
            )
        except OptionError as error:
            raise ProtocolError(ErrorCode.BAD_REQUEST, str(error)) from None
        return cls(params, chain, config, now)

    def ready(self) -> dict[str, Any]:
        return protocol.ready_message(
            session=self.id,
            params=self.params,
            config=self.config,
            chain=self.chain.describe(),
            latency_samples=self.chain.latency_samples,
        )

    def process_frame(self, data: bytes, now: float) -> bytes:
        """The reply to one binary message, checked in the documented order.

        Raise too_many_messages, bad_frame, frame_too_large, rate_limited or
        processing_failed.
        """
        index = self._admit_frame(data, now)
        # Decoded inline, as accept_frame does: this is every light frame's path.
        started = time.perf_counter_ns()
        fmt = self.params.format
        decoded = samples = protocol.decode_frame(data, fmt)
        if fmt is protocol.F32:
            samples, nonfinite = protocol.replace_nonfinite(decoded)
            self.stats.nonfinite_samples += nonfinite
        processed = self.run_chain(samples, index)
        if processed is decoded and fmt is protocol.F32:
            # The processor returned the f32 samples it got, which are a view of
            # ``data`` (all finite): ``data`` already is the reply, byte for byte.
            reply = data
        else:
            reply = protocol.encode_frame(processed, fmt)
        self.stats.frame_processed(samples, time.perf_counter_ns() - started)
        return reply

    def _admit_frame(self, data: bytes, now: float) -> int:
        """The index of a binary message that passed every check; raise
        too_many_messages, bad_frame, frame_too_large or rate_limited."""
        index = self.binary_messages
        self.binary_messages += 1
        self.stats.bytes_in += len(data)
        self.count_message(now)
        try:
            length = protocol.frame_length(
                data,
                self.params.format,
                index=index,
                max_samples=self.max_frame_samples,
            )
        except ProtocolError as error:
            if error.code is ErrorCode.BAD_FRAME:
                self.stats.bad_frames += 1
            raise
        if self.audio_budget is not None and not self.audio_budget.take(length, now):
            self.stats.rate_limited_frames += 1
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                f"audio is arriving faster than {self.config.max_realtime_factor:g}x "
                "real time beyond the burst allowance; this frame was dropped",
                frame=index,
                dropped=self.stats.rate_limited_frames,
            )
        return index

    def run_chain(self, samples: np.ndarray, index: int) -> np.ndarray:
        """The chain's output for frame ``index``; raise processing_failed."""
        try:
            # No copy when the chain returns float32, as echo does.
            processed = np.asarray(self.chain.process(samples), dtype=np.float32)
        except Exception as exc:
            failed = (
                exc.stage if isinstance(exc, StageFailed) else self.params.processor
            )
            cause = exc.__cause__ if isinstance(exc, StageFailed) else exc
            raise ProtocolError(
                ErrorCode.PROCESSING_FAILED,
                f"processor {failed!r} failed: {type(cause).__name__}",
                frame=index,
            ) from cause
        if processed.shape != samples.shape:
            raise ProtocolError(
                ErrorCode.PROCESSING_FAILED,
                f"processor {self.params.processor!r} returned {processed.size} "
                f"samples for {samples.size}",
                frame=index,
            )
        return processed

    # A heavy chain's frame path: the same steps as process_frame, split where the
    # frame goes to a processing thread and comes back.

    def accept_frame(self, data: bytes, now: float) -> Frame:
        """A binary message checked and decoded, for the processing threads; raise
        as process_frame does before its chain runs."""
        index = self._admit_frame(data, now)
        started = time.perf_counter_ns()
        fmt = self.params.format
        decoded = samples = protocol.decode_frame(data, fmt)
        if fmt is protocol.F32:
            samples, nonfinite = protocol.replace_nonfinite(decoded)
            self.stats.nonfinite_samples += nonfinite
        return Frame(index, data, decoded, samples, time.perf_counter_ns() - started)

    def run_chain_timed(self, frame: Frame) -> tuple[np.ndarray, int]:
        """``run_chain`` for ``frame``, and its nanoseconds.

        Touches only the chain, so it runs on a processing thread (one frame of the
        session at a time) while everything else stays on the event loop.
        """
        started = time.perf_counter_ns()
        processed = self.run_chain(frame.samples, frame.index)
        return processed, time.perf_counter_ns() - started

    def reply(self, frame: Frame, processed: np.ndarray, chain_ns: int) -> bytes:
        """The binary reply to ``frame``, counted with its decoding, ``chain_ns``
        and its encoding (not the time it waited for a thread)."""
        started = time.perf_counter_ns()
        if processed is frame.decoded and self.params.format is protocol.F32:
            reply = frame.data  # as in process_frame
        else:
            reply = protocol.encode_frame(processed, self.params.format)
        encode_ns = time.perf_counter_ns() - started
        self.stats.frame_processed(
            frame.samples, frame.decode_ns + chain_ns + encode_ns
        )
        return reply

    def answer(self, text: str, now: float) -> dict[str, Any] | None:
        """The reply to one text message, if it gets one; raise too_many_messages
        or bad_message."""
        self.count_message(now)
        return self.answer_counted(text)

    def answer_counted(self, text: str) -> dict[str, Any] | None:
        """``answer`` for a message already counted; raise bad_message."""
        message = protocol.parse_control(text)
        kind = message["type"]
        if kind == "ping":
            return protocol.pong_message(message, time.time())
        if kind == "client_stats":
            self.client_stats.update(protocol.client_stats_values(message))
            self.client_reports += 1
            return None
        if kind == "configure":
            return self._configure(message)
        return {"type": "stats", **self.stats.snapshot()}

    def _configure(self, message: dict[str, Any]) -> dict[str, Any]:
        processor, options = protocol.configure_request(message)
        try:
            values = self.chain.configure(processor, options)
        except OptionError as error:
            raise protocol.configure_error(message, str(error)) from None
        return protocol.configured_message(message, processor, values)

    def take_analysis(self) -> list[dict[str, Any]]:
        """The analysis messages of the frame just processed, to follow its reply."""
        frame = self.binary_messages - 1
        return [
            protocol.analysis_message(frame, processor, values)
            for processor, values in self.chain.take_reports()
        ]

    def count_message(self, now: float) -> None:
        """Count a message of either kind as it arrives; raise too_many_messages."""
        self.last_message = now
        if not self.message_budget.take(1, now):
            raise ProtocolError(
                ErrorCode.TOO_MANY_MESSAGES,
                f"more than {self.config.max_messages_per_second} messages per second",
            )

    def errors_to_send(self, error: ProtocolError) -> list[ProtocolError]:
        """``error``, followed by too_many_errors when it spends the error budget."""
        self.stats.errors += 1
        if error.code not in protocol.BUDGETED_ERRORS:
            return [error]
        self.errors_left -= 1
        if self.errors_left > 0:
            return [error]
        self.stats.errors += 1
        return [
            error,
            ProtocolError(
                ErrorCode.TOO_MANY_ERRORS,
                f"{self.config.max_errors} bad frames or messages in this session",
            ),
        ]

    def backlog_error(self, unsent_samples: int) -> ProtocolError | None:
        """The not_reading error once replies holding more than max_pending_seconds
        of audio wait for the client to take them."""
        if unsent_samples <= self.max_unsent_samples:
            return None
        return ProtocolError(
            ErrorCode.NOT_READING,
            f"more than {self.config.max_pending_seconds:g} seconds of replies are "
            "waiting for this client to read them",
        )

    def processing_behind_error(
        self, waiting_samples: int, waiting_messages: int
    ) -> ProtocolError | None:
        """The processing_behind error once a heavy chain's frames waiting for the
        processing threads hold more than max_processing_backlog_seconds of audio
        (or more text messages than the message rate lets in meanwhile wait behind
        them)."""
        if (
            waiting_samples <= self.max_backlog_samples
            and waiting_messages <= self.max_backlog_messages
        ):
            return None
        return ProtocolError(
            ErrorCode.PROCESSING_BEHIND,
            f"more than {self.config.max_processing_backlog_seconds:g} seconds of "
            "audio are waiting for this session's processing, which runs slower than "
            "real time on this server",
        )

    def idle_error(self, now: float) -> ProtocolError | None:
        """The idle_timeout error once no message came for idle_timeout seconds."""
        if now - self.last_message < self.config.idle_timeout:
            return None
        return ProtocolError(
            ErrorCode.IDLE_TIMEOUT,
            f"no message for {self.config.idle_timeout:g} seconds",
        )
