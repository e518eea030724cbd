"""Waiting on the page and reading its state, ``window.wsaudio``, from a test."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from ..live.records import records
from ..live.server import LiveServer


def wait_for(page: Page, condition: str, what: str, seconds: float) -> dict[str, Any]:
    """Wait for ``condition`` on ``s = window.wsaudio``; return the state reached."""
    try:
        page.wait_for_function(
            "() => { const s = window.wsaudio;"
            f" return s !== undefined && ({condition}); }}",
            polling=50,  # ms; the default, requestAnimationFrame, may be throttled
            timeout=seconds * 1000,
        )
    except PlaywrightTimeoutError:
        pytest.fail(f"no {what} within {seconds:.0f} s: {snapshot(page)}")
    return snapshot(page)


def wait_until(page: Page, condition: str, what: str, seconds: float) -> None:
    """As ``wait_for``, but the 'error' state fails the test at once."""
    state = wait_for(page, f"s.state === 'error' || ({condition})", what, seconds)
    assert state["state"] != "error", f"the page went to 'error': {state['lastError']}"


def snapshot(page: Page) -> dict[str, Any]:
    """A copy of ``window.wsaudio``."""
    return page.evaluate("() => window.wsaudio && structuredClone(window.wsaudio)")


def ended_record(server: LiveServer, session: str | None, seconds: float = 10) -> dict:
    """The server's record of ``session`` once its end is written."""
    assert session, "the page has no session uuid from 'ready'"
    deadline = time.monotonic() + seconds
    while True:
        row = records(server).get(session.replace("-", ""))
        if row is not None and row["ended_at"] is not None:
            return row
        assert time.monotonic() < deadline, f"no ended record after {seconds} s: {row}"
        time.sleep(0.1)
