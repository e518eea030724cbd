"""Browser tests: headless Chromium, a WAV file for a microphone, a live daphne.

The browser and the server live for one module, each test gets a fresh context.
Playwright's sync API runs its own event loop, so these tests are plain functions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from scripts.require_services import chromium_executable

from ..live.server import LiveServer, running_server
from .signals import MicSignal, mic_signal, write_wav

# A name Chromium resolves to the loopback address without treating it as local:
# a page served under it is not a secure context.
INSECURE_HOST = "wsaudio.test"


def chromium_flags(microphone: Path) -> list[str]:
    """Headless, offline, and a microphone that plays ``microphone`` once."""
    return [
        "--no-sandbox",  # root in a container: the sandbox cannot start
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--use-fake-ui-for-media-stream",  # grants getUserMedia without a prompt
        "--use-fake-device-for-media-stream",
        # %noloop: once, then what the file ends with (silence), not the file again.
        f"--use-file-for-fake-audio-capture={microphone}%noloop",
        "--autoplay-policy=no-user-gesture-required",
        f"--host-resolver-rules=MAP {INSECURE_HOST} 127.0.0.1",
    ]


@pytest.fixture(scope="module")
def mic() -> MicSignal:
    return mic_signal()


@pytest.fixture(scope="module")
def mic_wav(tmp_path_factory: pytest.TempPathFactory, mic: MicSignal) -> Path:
    path = tmp_path_factory.mktemp("mic") / "mic.wav"
    write_wav(path, mic)
    return path


@pytest.fixture(scope="module")
def browser_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A daphne that writes session records within 0.2 s of their end."""
    workdir = tmp_path_factory.mktemp("browser-server")
    with running_server(workdir, WSAUDIO_METRICS_FLUSH_SECONDS="0.2") as server:
        yield server


@pytest.fixture(scope="module")
def browser(mic_wav: Path) -> Iterator[Browser]:
    executable = chromium_executable()
    if not os.access(executable, os.X_OK):
        pytest.fail(
            f"no Chromium at {executable}: apt-get install chromium, "
            "or point WSAUDIO_CHROMIUM at one",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=chromium_flags(mic_wav)
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context: its own microphone stream, from the file's start."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """Every console error and uncaught exception of ``page``, as text."""
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    return errors
