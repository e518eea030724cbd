"""Heavy chains off the event loop: the process's processing threads, and per
session, a lane that keeps its frames and answers in order.

A heavy processor (denoise, vad) spends milliseconds per frame in a library that
releases the GIL (docs/processors.md has the measurements). Run on the event loop,
one such session would delay every other session's audio; on the pool, the loop
only hands frames over and takes results back, so it goes on reading and answering
every other session meanwhile.

A session's frames go to the pool one at a time and in order (its processors keep
state from one block to the next), so the pool's queue holds at most one frame per
session and serves sessions in turn. What else the session's client sends (a ping,
a configure) is answered on the loop once the frames before it are done, so replies
keep the order their requests came in, and a configure never changes a chain while
a thread is running it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

Step = Callable[[], None]


@lru_cache(maxsize=1)
def processing_pool(threads: int) -> ThreadPoolExecutor:
    """The process's processing threads, made at the first heavy session."""
    return ThreadPoolExecutor(threads, thread_name_prefix="wsaudio-processing")


class Lane:
    """One heavy session's work, in the order it arrived.

    ``submit`` queues a job for ``work`` (called on a processing thread), whose
    outcome ``finish`` takes on the loop; ``then`` queues a step that runs on the
    loop once the jobs before it are finished. Nothing waits when the lane is idle.
    """

    __slots__ = (
        "executor",
        "work",
        "finish",
        "waiting",
        "waiting_samples",
        "waiting_steps",
        "running",
        "closing",
        "stopped",
    )

    def __init__(
        self,
        executor: ThreadPoolExecutor,
        work: Callable[[Any], Any],
        finish: Callable[[Any, asyncio.Future], None],
    ) -> None:
        self.executor = executor
        self.work = work
        self.finish = finish
        self.waiting: deque[tuple[Any, int | None]] = deque()  # (job, samples) or
        # (step, None), not started yet
        self.waiting_samples = 0  # audio in jobs not finished, the running one's too
        self.waiting_steps = 0
        self.running: asyncio.Future | None = None
        self.closing = False  # takes nothing more, but finishes what it holds
        self.stopped = False  # nothing more is started: the session is over

    @property
    def idle(self) -> bool:
        return self.running is None and not self.waiting

    def submit(self, job: Any, samples: int) -> None:
        if self.closing or self.stopped:
            return
        self.waiting_samples += samples
        if self.idle:
            self._start(job, samples)
        else:
            self.waiting.append((job, samples))

    def then(self, step: Step) -> None:
        if self.closing or self.stopped:
            return
        if self.idle:
            step()
        else:
            self.waiting.append((step, None))
            self.waiting_steps += 1

    def close_with(self, step: Step) -> None:
        """``step`` after everything the lane holds, and nothing after it."""
        self.then(step)
        self.closing = True

    def stop(self) -> None:
        """Start nothing more and forget what waits; a job already on a thread
        runs to its end, and its outcome is dropped."""
        self.stopped = True
        self.running = None
        self.waiting.clear()
        self.waiting_samples = self.waiting_steps = 0

    def _start(self, job: Any, samples: int) -> None:
        loop = asyncio.get_running_loop()
        running = loop.run_in_executor(self.executor, self.work, job)
        self.running = running
        running.add_done_callback(lambda done: self._finished(done, job, samples))

    def _finished(self, done: asyncio.Future, job: Any, samples: int) -> None:
        if done is not self.running:
            if not done.cancelled():
                done.exception()  # stopped meanwhile: its outcome is dropped
            return
        self.running = None
        self.waiting_samples -= samples
        try:
            self.finish(job, done)
        finally:  # what waits behind it goes on, whatever ``finish`` did
            self._start_next()

    def _start_next(self) -> None:
        while self.running is None and self.waiting and not self.stopped:
            item, samples = self.waiting.popleft()
            if samples is None:
                self.waiting_steps -= 1
                item()
            else:
                self._start(item, samples)
