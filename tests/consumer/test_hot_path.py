"""Audio never waits behind database work on the shared sync thread."""

import asyncio
import threading
import time

from asgiref.sync import sync_to_async

from tests.conftest import sine

from .conftest import open_session


async def test_a_frame_is_echoed_while_the_shared_sync_thread_is_busy():
    frame = sine(16384, 1024 / 16384, 440).tobytes()
    async with open_session() as (comm, _):
        # Stands in for a slow query: database_sync_to_async and Channels' own
        # connection cleanup run on this same single thread.
        blocker = asyncio.create_task(sync_to_async(time.sleep)(2.0))
        await asyncio.sleep(0.1)  # the blocker now holds the thread
        await comm.send_to(bytes_data=frame)
        assert await comm.receive_from(timeout=1.5) == frame
        assert not blocker.done(), "the reply came only after the thread was free"
        await blocker


async def test_a_whole_session_runs_while_the_shared_sync_thread_is_busy():
    frame = sine(16384, 1024 / 16384, 440).tobytes()
    release = threading.Event()
    blocker = asyncio.create_task(sync_to_async(release.wait)())
    await asyncio.sleep(0.1)  # the blocker now holds the thread
    try:
        # Handshake, ready, a frame and the disconnect each within 1 s.
        async with open_session() as (comm, ready):
            assert ready["type"] == "ready"
            await comm.send_to(bytes_data=frame)
            assert await comm.receive_from() == frame
        assert not blocker.done(), "the session waited for the thread"
    finally:
        release.set()
        await blocker
