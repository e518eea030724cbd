"""A session that follows its server through a restart: when the server goes, it
opens a new session on the same URL and carries on, counting what the gap lost."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .errors import ServerError, SessionClosed, WsaudioError
from .measure import now
from .reconnect import Gap, Reconnect, cause, may_be_admitted_later, server_went
from .wire import CloseCode, Ready

if TYPE_CHECKING:
    import numpy as np

    from .session import Reply, Session

INBOX_MESSAGES = 64  # messages read ahead of receive(): then the socket waits


class ReconnectingSession:
    """A session that follows its server through a restart; made by
    ``connect(..., reconnect=Reconnect(...))``, it offers what ``Session`` does.

    When the session ends because its server went (``server_went``), a new one
    opens on the same URL (``Reconnect`` says when, and when to give up) and takes
    over: ``ready`` becomes its ``ready``, options given by ``configure`` are given
    to it again, and ``receive`` returns its replies. Frame indexes are the
    client's own, counted across sessions, so that ``Reply.frame`` (and the
    ``frame`` of an analysis message) still places a reply in the stream. Frames
    sent while there is no session go into the void: counted, never answered.
    Between the last message of the old session and the first of the new,
    ``receive`` returns the ``Gap`` (also kept in ``gaps``). Any other end of a
    session raises as ``Session`` does, never retried.

    One task reads the current session ahead of ``receive`` (up to
    INBOX_MESSAGES), so that a session's end is seen while nobody waits for a
    reply.
    """

    def __init__(
        self,
        first: Session,
        open_session: Callable[[], Awaitable[Session]],
        policy: Reconnect,
    ) -> None:
        self.policy = policy
        self.gaps: list[Gap] = []
        self.frames_sent = 0  # the client's frame index, across sessions
        self._open = open_session
        self._session: Session | None = first  # None in a gap, and at the end
        self._ready = first.ready
        self._offset = 0  # the client's index of the current session's frame 0
        self._void: list[int] = []  # frames sent in the current gap
        self._configured: dict[str, dict[str, Any]] = {}  # for the next session
        self._inbox: asyncio.Queue = asyncio.Queue(INBOX_MESSAGES)
        self._ended: BaseException | None = None  # why no session will come
        self._closing = False
        self._changed = asyncio.Event()  # replaced each time _session changes
        self._reader = asyncio.create_task(self._follow())

    @property
    def ready(self) -> Ready:
        """The current session's ``ready`` (in a gap, the last one's)."""
        return self._ready

    @property
    def connected(self) -> bool:
        """Whether a session is open now: frames sent while not go into the void."""
        return self._session is not None

    @property
    def unanswered(self) -> int:
        """Frames sent in the current session that have had no reply or error yet."""
        return self._session.unanswered if self._session is not None else 0

    async def send(self, frame: np.ndarray | bytes) -> int:
        """Send one frame; return its index, which replies and errors refer to.
        In a gap the frame goes into the void; once the session has ended for
        good, this raises why."""
        index = self.frames_sent
        self.frames_sent += 1
        session = self._session
        if session is None:
            if self._ended is not None:
                raise self._ended
            self._void.append(index)
            return index
        try:
            await session.send(frame)
        except SessionClosed:
            if self._closing:
                raise
            # The session ended under this frame: it is one of the session's
            # unanswered frames, which its gap counts (or the end, if for good,
            # is raised by the next call).
        return index

    async def send_control(self, message: dict[str, Any]) -> None:
        """Send a control message; in a gap it waits for the next session."""
        session = None
        while True:
            session = await self._current(other_than=session)
            try:
                await session.send_control(message)
                return
            except SessionClosed as closed:
                if self._closing or not server_went(closed):
                    raise

    async def ping(self, id: Any = None) -> None:
        await self.send_control({"type": "ping", "id": id})

    async def request_stats(self) -> None:
        """Ask for the current session's ``stats``."""
        await self.send_control({"type": "stats"})

    async def configure(self, processor: str, /, **options: Any) -> dict[str, Any]:
        """As ``Session.configure``; the change is given to every later session
        too, before its first frame. In a gap it waits for the next session."""
        session = None
        while True:
            session = await self._current(other_than=session)
            try:
                answer = await session.configure(processor, **options)
            except WsaudioError as error:
                if self._closing or not server_went(error):
                    raise
                continue
            self._configured.setdefault(processor, {}).update(options)
            return answer

    async def receive(self) -> Reply | dict[str, Any] | Gap:
        """The next reply, control message or ``Gap``; raise on ``error`` and
        when the session has ended for good."""
        if self._inbox.empty() and self._ended is not None:
            raise self._ended
        message = await self._inbox.get()
        if isinstance(message, BaseException):
            raise message
        return message

    def __aiter__(self) -> AsyncIterator[Reply | dict[str, Any] | Gap]:
        return self

    async def __anext__(self) -> Reply | dict[str, Any] | Gap:
        try:
            return await self.receive()
        except SessionClosed as closed:
            if closed.close_code == CloseCode.NORMAL:
                raise StopAsyncIteration from None
            raise

    async def close(self, code: int = CloseCode.NORMAL) -> None:
        """Close the current session and open no other."""
        self._closing = True
        if self._session is not None:
            await self._session.close(code)  # the reader reads on to the close
        elif self._ended is None:
            self._reader.cancel()  # it was opening the next session
            await asyncio.wait({self._reader})
            self._finish(SessionClosed(code))

    async def aclose(self) -> None:
        """Close, and stop reading (what ``connect`` does on leaving its block)."""
        await self.close()
        self._reader.cancel()
        await asyncio.wait({self._reader})

    async def _current(self, other_than: Session | None = None) -> Session:
        """The current session, once there is one other than ``other_than``;
        raise why there will be none."""
        while self._ended is None and self._session in (None, other_than):
            await self._changed.wait()
        if self._ended is not None:
            raise self._ended
        return self._session

    def _became(self, session: Session | None) -> None:
        self._session = session
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _finish(self, error: BaseException) -> None:
        self._ended = error
        self._became(None)
        # Full, the inbox has no reader waiting: receive() raises once it is empty.
        with contextlib.suppress(asyncio.QueueFull):
            self._inbox.put_nowait(error)

    async def _follow(self) -> None:
        """Read the current session into the inbox, bridge each gap, and end
        when a session ends for good."""
        session = self._session
        try:
            while True:
                session, offset = self._session, self._offset
                try:
                    message = await session.receive()
                except WsaudioError as error:
                    if isinstance(error, ServerError) and not error.closes_session:
                        if error.frame is not None:
                            error.frame += offset
                        await self._inbox.put(error)
                        continue
                    if self._closing or not server_went(error):
                        raise
                    await self._bridge(session, error)
                    continue
                await self._inbox.put(_shifted(message, offset))
        except Exception as error:  # a bug too: receive() raises it, not waits
            self._finish(error)
            await session.close()  # open still after an UnexpectedMessage

    async def _bridge(self, old: Session, ended: WsaudioError) -> None:
        """From ``old``'s end to a new session's ``ready``; raise the last
        attempt's error when the policy gives up."""
        ended_at = now()
        self._became(None)
        await old.close()  # its connection has closed already: this only tidies
        new, attempts, refusals = await self._reopen(ended_at)
        lost = (*(self._offset + frame for frame in old.unanswered_frames), *self._void)
        gap = Gap(
            cause=cause(ended),
            lost=lost,
            unanswered=len(lost) - len(self._void),
            resumed_at=self.frames_sent,
            seconds=now() - ended_at,
            attempts=attempts,
            refusals=dict(refusals),
            old_session=old.ready.session,
            new_session=new.ready.session,
        )
        self._void = []
        self._offset = self.frames_sent
        self._ready = new.ready
        self._became(new)
        self.gaps.append(gap)
        await self._inbox.put(gap)

    async def _reopen(self, ended_at: float) -> tuple[Session, int, Counter[str]]:
        """A new session, configured as the last was; the attempts it took and
        why the others failed."""
        give_up_at = ended_at + self.policy.deadline
        refusals: Counter[str] = Counter()
        attempt = 0
        while True:
            attempt += 1
            wait = self.policy.delay(attempt, random.random())
            await asyncio.sleep(max(0.0, min(wait, give_up_at - now())))
            try:
                return await self._open_configured(), attempt, refusals
            except WsaudioError as failed:
                if not may_be_admitted_later(failed):
                    raise
                if now() >= give_up_at:
                    failed.add_note(
                        f"gave up reconnecting after {attempt} attempts "
                        f"in {now() - ended_at:.1f} s"
                    )
                    raise
                refusals[cause(failed)] += 1

    async def _open_configured(self) -> Session:
        session = await self._open()
        try:
            for processor, options in self._configured.items():
                await session.configure(processor, **options)
        except BaseException:
            await session.close()
            raise
        return session


def _shifted(message: Reply | dict[str, Any], offset: int) -> Reply | dict[str, Any]:
    """``message`` with its session's frame index made the client's."""
    if offset == 0:
        return message
    if not isinstance(message, dict):
        return dataclasses.replace(message, frame=message.frame + offset)
    frame = message.get("frame")
    return {**message, "frame": frame + offset} if type(frame) is int else message
