"""The ``echo`` command: stream an audio file through a server at a steady pace,
keep what comes back (replies and analysis), and measure every round trip."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .audio import check_writable, read_mono, write_wire_samples
from .errors import BadFrame, RateLimited, WsaudioError
from .measure import now, percentiles_ms, sleep_until
from .reconnect import Gap, Reconnect
from .reconnecting_session import ReconnectingSession
from .session import CLOSE_SECONDS, Reply, Session, connect
from .wire import DEFAULT_FRAME_SAMPLES, DEFAULT_RATE, FORMATS, Ready, encode_frame

DRAIN_SECONDS = 10.0  # how long replies may trail the last frame sent


@dataclass
class EchoRun:
    """What one ``echo`` run sent, got back and measured."""

    server: str
    input: dict[str, Any]
    ready: dict[str, Any] = field(default_factory=dict)
    frames_sent: int = 0
    frames_received: int = 0
    frames_refused: int = 0  # answered by bad_frame or rate_limited, not a reply
    # Replies not byte-identical to their frame; None: the chain changes the audio.
    mismatched: int | None = None
    rtt_seconds: list[float] = field(default_factory=list)
    # The analysis messages, in order, each without its "type".
    analysis: list[dict[str, Any]] = field(default_factory=list)
    server_stats: dict[str, Any] | None = None
    elapsed_s: float = 0.0
    output: str | None = None
    reconnect: Reconnect | None = None
    gaps: list[Gap] = field(default_factory=list)  # where a session gave way

    @property
    def lost(self) -> int:
        return self.frames_sent - self.frames_received

    @property
    def lost_in_gaps(self) -> int:
        return sum(gap.frames_lost for gap in self.gaps)

    def summary(self) -> dict[str, Any]:
        """The run as JSON-ready data (what ``--json`` prints)."""
        return {
            "server": self.server,
            "session": self.ready.get("session"),
            "rate": self.ready.get("rate"),
            "format": self.ready.get("format"),
            "processor": self.ready.get("processor"),
            "chain": self.ready.get("chain"),
            "input": self.input,
            "output": self.output,
            "elapsed_s": round(self.elapsed_s, 3),
            "frames": {
                "sent": self.frames_sent,
                "received": self.frames_received,
                "lost": self.lost,
                "refused": self.frames_refused,
                "mismatched": self.mismatched,
            },
            "rtt_ms": percentiles_ms(self.rtt_seconds),
            "server_stats": self.server_stats,
            "analysis": self.analysis,
            "reconnect": dataclasses.asdict(self.reconnect) if self.reconnect else None,
            "reconnects": len(self.gaps),
            "gaps": [gap.summary() for gap in self.gaps],
        }

    def keep(self, message: dict[str, Any] | Gap) -> None:
        """Keep ``message`` if it is an ``analysis`` or a ``Gap``: no other
        control message is expected while frames stream."""
        if isinstance(message, Gap):
            self.gaps.append(message)
        elif message.get("type") == "analysis":
            self.analysis.append({k: v for k, v in message.items() if k != "type"})


async def echo_file(
    server: str,
    input_path: str | Path,
    *,
    output_path: str | Path | None = None,
    rate: int = DEFAULT_RATE,
    format: str = "f32",
    processor: str | None = None,
    options: Mapping[str, Any] | None = None,
    frame_samples: int = DEFAULT_FRAME_SAMPLES,
    speed: float = 1.0,
    on_reply: Callable[[int, int], None] | None = None,
    reconnect: Reconnect | None = None,
) -> EchoRun:
    """Stream ``input_path`` to ``server`` at ``speed`` x real time, through the
    chain ``processor`` with ``options`` by query key (``{"gain.db": -6}``).

    Replies are compared with their frames only when the chain is all identities
    (``Ready.identity``); analysis messages are kept in ``EchoRun.analysis``.
    ``on_reply(done, total)`` is called as frames are answered (a progress bar).
    With ``reconnect`` the stream follows the server through a restart: frames
    lost in a gap stay silent in the output, and ``EchoRun.gaps`` says which.
    Raises ValueError before streaming when ``frame_samples`` or ``speed`` break
    the limits in ``ready``, and the session's ``ServerError`` when it ends it.
    """
    if speed <= 0:
        raise ValueError("--speed must be above 0")
    source = read_mono(input_path, rate)
    if output_path is not None:
        check_writable(output_path)
    run = EchoRun(
        server=server,
        input={
            "path": str(input_path),
            "file_rate": source.file_rate,
            "file_channels": source.file_channels,
            "seconds": round(source.seconds, 6),
        },
        reconnect=reconnect,
    )
    started = time.perf_counter()
    async with connect(
        server,
        rate,
        format=format,
        processor=processor,
        options=options,
        reconnect=reconnect,
    ) as session:
        ready = session.ready
        run.ready = {
            "session": ready.session,
            "rate": ready.rate,
            "format": ready.format,
            "processor": ready.processor,
            "chain": [
                {"name": stage.name, "options": stage.options, **stage.fields}
                for stage in ready.chain
            ],
        }
        _check_limits(ready, frame_samples, speed)
        frames = [
            source.samples[i : i + frame_samples]
            for i in range(0, len(source.samples), frame_samples)
        ]
        replies = bytearray(len(source.samples) * FORMATS[ready.format].itemsize)
        period = frame_samples / rate / speed
        await _stream(session, frames, period, run, replies, on_reply)
        run.server_stats = await _final_stats(session, run)
    run.elapsed_s = time.perf_counter() - started
    if output_path is not None:
        write_wire_samples(output_path, bytes(replies), rate, ready.format)
        run.output = str(output_path)
    return run


def _check_limits(ready: Ready, frame_samples: int, speed: float) -> None:
    if not 0 < frame_samples <= ready.max_frame_samples:
        raise ValueError(
            f"--frame-samples {frame_samples} is outside 1..{ready.max_frame_samples}, "
            "the server's max_frame_samples at this rate"
        )
    factor = ready.max_realtime_factor
    if factor is not None and speed > factor:
        raise ValueError(
            f"--speed {speed:g} is above the server's max_realtime_factor {factor:g}"
        )
    per_second = ready.rate / frame_samples * speed
    most = ready.limits.get("max_messages_per_second")
    if most is not None and per_second > most:
        raise ValueError(
            f"{frame_samples}-sample frames at --speed {speed:g} are "
            f"{per_second:g} messages a second; the server takes at most {most}: "
            "send longer frames"
        )


async def _stream(
    session: Session | ReconnectingSession,
    frames: list[np.ndarray],
    period: float,
    run: EchoRun,
    replies: bytearray,
    on_reply: Callable[[int, int], None] | None,
) -> None:
    """Send ``frames`` one per ``period`` seconds on an absolute schedule while a
    second task takes the replies; return once every frame is answered, or
    DRAIN_SECONDS after the last was sent (what is missing then is lost)."""
    ready = session.ready
    stride = len(frames[0]) * FORMATS[ready.format].itemsize if frames else 0
    unanswered: dict[int, tuple[float, bytes]] = {}  # index -> (sent at, bytes)
    all_queued = False
    if ready.identity:
        run.mismatched = 0

    async def receive_all() -> None:
        while not (all_queued and not unanswered):
            try:
                reply = await session.receive()
            except (BadFrame, RateLimited) as refused:
                unanswered.pop(refused.frame, None)
                run.frames_refused += 1
                continue
            if isinstance(reply, Reply):
                sent_at, data = unanswered.pop(reply.frame)
                run.rtt_seconds.append(now() - sent_at)
                run.frames_received += 1
                offset = reply.frame * stride
                replies[offset : offset + len(reply.data)] = reply.data
                if run.mismatched is not None and reply.data != data:
                    run.mismatched += 1
            else:
                run.keep(reply)
                if isinstance(reply, Gap):
                    for frame in reply.lost:  # no reply will come
                        unanswered.pop(frame, None)
            if on_reply is not None:
                done = run.frames_received + run.frames_refused + run.lost_in_gaps
                on_reply(done, len(frames))

    receiver = asyncio.create_task(receive_all())
    try:
        start = now()
        for number, frame in enumerate(frames):
            await sleep_until(start + number * period)
            if receiver.done():
                receiver.result()  # the session ended: raise why
            data = encode_frame(frame, ready.format)
            all_queued = number == len(frames) - 1
            unanswered[number] = (now(), data)
            try:
                await session.send(data)
            except WsaudioError:
                # The receiver holds the error that came before the close (with
                # reconnect, the same error: the one a reconnect gave up on).
                await asyncio.wait({receiver}, timeout=CLOSE_SECONDS)
                if receiver.done():
                    receiver.result()
                raise
            run.frames_sent += 1
        all_queued = True
        await asyncio.wait({receiver}, timeout=DRAIN_SECONDS)
        if receiver.done():
            receiver.result()
    finally:
        receiver.cancel()


async def _final_stats(
    session: Session | ReconnectingSession, run: EchoRun
) -> dict[str, Any]:
    """Tell the server what this client measured, then ask for its ``stats``
    (after a reconnect, the last session's)."""
    if "client_stats" in session.ready.accepts and run.rtt_seconds:
        rtt = percentiles_ms(run.rtt_seconds)
        await session.send_control(
            {"type": "client_stats", "rtt_ms_p50": rtt["p50"], "rtt_ms_p95": rtt["p95"]}
        )
    await session.request_stats()
    async with asyncio.timeout(DRAIN_SECONDS):
        while True:
            try:
                message = await session.receive()
            except (BadFrame, RateLimited):
                continue  # a frame given up on while draining
            if isinstance(message, Reply):
                continue  # a reply that came after DRAIN_SECONDS: lost already
            if message.get("type") == "stats":
                return {k: v for k, v in message.items() if k != "type"}
            run.keep(message)  # the last frame's analysis follows its reply
