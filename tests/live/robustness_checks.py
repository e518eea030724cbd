"""What a server must show however its sessions end: no session left, a clean log."""

from __future__ import annotations

import asyncio
import time

from .wire import info

# Daphne's and Uvicorn's words for an exception that escaped the application.
ESCAPED = ("Exception inside application", "Exception in ASGI application")
# Daphne logs an application's exception only on its once-a-second check.
DAPHNE_CHECK_SECONDS = 1.0


def assert_clean_log(server, since: int = 0) -> None:
    """No traceback, no escaped exception and no ERROR line in the server's log
    (from character ``since`` on)."""
    log = server.output()[since:]
    for words in ("Traceback", " ERROR ", *ESCAPED):
        assert words not in log, f"{words!r} in the server's log:\n{log[-4000:]}"


async def assert_clean_log_once_checked(server, since: int = 0) -> None:
    """assert_clean_log, once the server has had time to log what escaped."""
    await asyncio.sleep(2.5 * DAPHNE_CHECK_SECONDS)
    assert_clean_log(server, since)


async def wait_for_sessions_open(server, count: int, within: float = 20.0) -> int:
    """The server's sessions_open once it is ``count``, or after ``within`` s."""
    deadline = time.monotonic() + within
    while (now_open := info(server)["sessions_open"]) != count:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    return now_open
