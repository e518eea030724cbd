"""One client's audio session: frames through its processor, control replies, stats.

Pure: no Django, no I/O, so every rule of the protocol can be exercised directly.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import numpy as np

from . import protocol
from .processors import PROCESSORS, Processor, make_processor
from .protocol import ErrorCode, ProtocolError, ServerConfig, SessionParams
from .stats import SessionStats


class AudioSession:
    """State of one accepted WebSocket session, from ``ready`` to close."""

    def __init__(self, params: SessionParams, processor: Processor) -> None:
        self.id = str(uuid.uuid4())
        self.params = params
        self.processor = processor
        self.stats = SessionStats()
        self.binary_messages = 0  # every binary message so far: the next frame index

    @classmethod
    def open(
        cls, config: ServerConfig, rate_segment: str, query_string: bytes
    ) -> AudioSession:
        """A session for the request's URL parameters; raise ``bad_request``."""
        params = protocol.parse_session_params(
            rate_segment,
            query_string,
            min_rate=config.min_rate,
            max_rate=config.max_rate,
            processors=PROCESSORS,
        )
        return cls(params, make_processor(params.processor, params.rate))

    def ready(self, config: ServerConfig) -> dict[str, Any]:
        return protocol.ready_message(
            session=self.id, params=self.params, config=config
        )

    def process_frame(self, data: bytes) -> bytes:
        """The reply to one binary message; raise bad_frame or processing_failed."""
        index = self.binary_messages
        self.binary_messages += 1
        self.stats.bytes_in += len(data)
        fmt = self.params.format
        started = time.perf_counter_ns()
        try:
            samples = protocol.decode_frame(data, fmt, index=index)
        except ProtocolError:
            self.stats.bad_frames += 1
            raise
        if fmt is protocol.F32:
            samples, nonfinite = protocol.replace_nonfinite(samples)
            self.stats.nonfinite_samples += nonfinite
        processed = self._run_processor(samples, index)
        reply = protocol.encode_frame(processed, fmt)
        self.stats.frame_processed(samples.size, time.perf_counter_ns() - started)
        return reply

    def _run_processor(self, samples: np.ndarray, index: int) -> np.ndarray:
        name = self.params.processor
        try:
            # No copy when the processor returns float32, as echo does.
            processed = np.asarray(self.processor.process(samples), dtype=np.float32)
        except Exception as exc:
            raise ProtocolError(
                ErrorCode.PROCESSING_FAILED,
                f"processor {name!r} failed: {type(exc).__name__}",
                frame=index,
            ) from exc
        if processed.shape != samples.shape:
            raise ProtocolError(
                ErrorCode.PROCESSING_FAILED,
                f"processor {name!r} returned {processed.size} samples "
                f"for {samples.size}",
                frame=index,
            )
        return processed

    def answer(self, text: str) -> dict[str, Any]:
        """The reply to one text message; raise ``bad_message``."""
        message = protocol.parse_control(text)
        if message["type"] == "ping":
            return protocol.pong_message(message, time.time())
        return {"type": "stats", **self.stats.snapshot()}
