"""The drain and SIGTERM, in this process: the server's handler gets the signal
only after the sessions are told, or at once when the grace runs out or a second
SIGTERM comes."""

import asyncio
import os
import signal
import threading

import pytest

from echo.shutdown import Drain


class Session:
    """A session that leaves ``stays`` seconds after it is told to (never: None)."""

    def __init__(self, drain: Drain, stays: float | None = 0.05) -> None:
        self.drain, self.stays, self.told = drain, stays, False
        drain.join(self)

    def shut_down(self) -> None:
        self.told = True
        if self.stays is not None:
            asyncio.get_running_loop().call_later(self.stays, self.drain.leave, self)


class ServerHandler(list):
    """The SIGTERM handler a server installs; holds the signals it was handed."""

    def __init__(self) -> None:
        super().__init__()
        self.called = asyncio.Event()  # the drain hands over on the event loop

    def __call__(self, signum, frame) -> None:
        self.append(signum)
        self.called.set()


@pytest.fixture
def server_handler():
    handler = ServerHandler()
    previous = signal.signal(signal.SIGTERM, handler)
    yield handler
    signal.signal(signal.SIGTERM, previous)


@pytest.fixture(autouse=True)
def no_records(settings):
    settings.WSAUDIO_STORE_METRICS = False


async def handed_over(handed: ServerHandler, within: float = 5.0) -> None:
    await asyncio.wait_for(handed.called.wait(), within)


async def test_sigterm_reaches_the_server_once_every_session_has_left(server_handler):
    drain = Drain()
    sessions = [Session(drain), Session(drain, stays=0.2)]
    drain.install(asyncio.get_running_loop())
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.sleep(0.1)
    assert all(session.told for session in sessions) and drain.draining
    assert server_handler == []  # one session is still closing
    await handed_over(server_handler)
    assert server_handler == [signal.SIGTERM]
    assert not drain.sessions
    assert signal.getsignal(signal.SIGTERM) is server_handler  # handed back


async def test_the_grace_running_out_hands_over(server_handler, settings):
    settings.WSAUDIO_SHUTDOWN_GRACE = 0.2
    drain = Drain()
    stuck = Session(drain, stays=None)
    drain.install(asyncio.get_running_loop())
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.sleep(0.1)
    assert stuck.told and server_handler == []
    await handed_over(server_handler, within=1.0)
    assert drain.sessions == {stuck}  # left for the server's own shutdown


async def test_a_second_sigterm_hands_over_at_once(server_handler, settings):
    settings.WSAUDIO_SHUTDOWN_GRACE = 60
    drain = Drain()
    Session(drain, stays=None)
    drain.install(asyncio.get_running_loop())
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.sleep(0.1)
    assert server_handler == []
    os.kill(os.getpid(), signal.SIGTERM)
    await handed_over(server_handler, within=1.0)
    assert server_handler == [signal.SIGTERM]


async def test_http_requests_in_flight_finish_before_the_hand_over(server_handler):
    drain = Drain()
    release = asyncio.Event()
    sent: list[dict] = []

    async def slow_page(scope, receive, send):
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def send(message):
        sent.append(message)

    app = drain.http(slow_page)
    in_flight = asyncio.create_task(app({"type": "http"}, None, send))
    await asyncio.sleep(0)
    drain.install(asyncio.get_running_loop())
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.sleep(0.1)
    assert server_handler == []  # waits for the request
    await app({"type": "http"}, None, send)  # a new one gets 503 without the page
    assert sent[0]["status"] == 503
    release.set()
    await in_flight
    await handed_over(server_handler)
    assert sent[-1]["status"] == 200


async def test_only_the_main_thread_takes_sigterm_over(server_handler):
    drain = Drain()
    before = signal.getsignal(signal.SIGTERM)
    installing = threading.Thread(
        target=drain.install, args=(asyncio.get_running_loop(),)
    )
    installing.start()
    installing.join()
    assert signal.getsignal(signal.SIGTERM) is before
