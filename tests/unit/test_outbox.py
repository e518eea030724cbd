"""The outbox sends in order, at once while the connection takes data, counts the
audio waiting while it does not, and ends quietly when the connection is gone."""

from __future__ import annotations

import asyncio

import pytest

from echo.outbox import Outbox

# What servers raise for a send on a connection that is gone (docs in echo.outbox).
GONE = [
    ConnectionResetError("gone"),  # an OSError, as the ASGI spec asks
    RuntimeError("Attempt to send on a closed protocol"),  # Daphne
    RuntimeError(
        "Unexpected ASGI message 'websocket.send', after sending 'websocket.close'"
    ),
]


class Connection:
    """An ASGI send that waits while ``writable`` is clear, as Uvicorn's does."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.failure: Exception | None = None  # raised by every send once set
        self.full_after_each = False  # every message fills the buffer again

    async def send(self, message: dict) -> None:
        await self.writable.wait()
        if self.failure is not None:
            raise self.failure
        self.sent.append(message.get("text", message["type"]))
        if self.full_after_each:
            self.writable.clear()


def text(value: str) -> dict:
    return {"type": "websocket.send", "text": value}


async def test_a_connection_that_takes_data_gets_each_message_at_once():
    connection = Connection()
    outbox = Outbox(connection.send)
    for value in "abc":
        outbox.put(text(value), samples=1024)
        assert connection.sent[-1] == value  # before anything else runs
    assert (outbox.writer, outbox.unsent_samples) == (None, 0)


async def test_a_stalled_connection_queues_in_order_and_counts_the_audio():
    connection = Connection()
    outbox = Outbox(connection.send)
    connection.writable.clear()
    outbox.put(text("a"), samples=1000)
    outbox.put(text("b"))
    outbox.put(text("c"), samples=500)
    await asyncio.sleep(0.01)
    assert connection.sent == []
    assert outbox.writer is not None
    assert outbox.unsent_samples == 1500

    connection.writable.set()
    await asyncio.wait_for(outbox.writer, 1)
    assert connection.sent == ["a", "b", "c"]
    assert (outbox.writer, outbox.unsent_samples) == (None, 0)
    outbox.put(text("d"))  # at once again
    assert connection.sent[-1] == "d"


async def test_a_connection_that_stalls_again_mid_queue_keeps_the_order():
    connection = Connection()
    outbox = Outbox(connection.send)
    connection.writable.clear()
    connection.full_after_each = True
    for value in "abc":
        outbox.put(text(value), samples=10)
    for expected, unsent in ((["a"], 20), (["a", "b"], 10), (["a", "b", "c"], 0)):
        connection.writable.set()
        await asyncio.sleep(0.01)
        assert (connection.sent, outbox.unsent_samples) == (expected, unsent)


class Dropped(list):
    """The outbox's ``dropped``: what it gave up, by text or type."""

    def __call__(self, message: dict) -> None:
        self.append(message.get("text", message["type"]))


async def test_dropping_the_waiting_keeps_the_message_being_sent():
    connection, dropped = Connection(), Dropped()
    outbox = Outbox(connection.send, dropped)
    connection.writable.clear()
    outbox.put(text("in flight"), samples=100)
    outbox.put(text("x"), samples=100)
    outbox.put(text("y"), samples=100)
    outbox.drop_waiting()
    assert sorted(dropped) == ["x", "y"]
    assert outbox.unsent_samples == 100
    outbox.put(text("error"))
    connection.writable.set()
    await asyncio.wait_for(outbox.writer, 1)
    assert connection.sent == ["in flight", "error"]


@pytest.mark.parametrize("failure", GONE, ids=type)
async def test_a_send_that_fails_at_once_finishes_the_outbox_without_raising(
    failure, caplog
):
    connection, dropped = Connection(), Dropped()
    outbox = Outbox(connection.send, dropped)
    outbox.put(text("a"))
    connection.failure = failure
    outbox.put(text("b"))  # does not raise
    outbox.put(text("c"))
    outbox.close(1000)
    assert connection.sent == ["a"]
    assert dropped == ["b", "c", "websocket.close"]
    assert (outbox.finished, outbox.writer) == (True, None)
    assert [r for r in caplog.records if r.levelname != "DEBUG"] == []


@pytest.mark.parametrize("failure", GONE, ids=type)
async def test_a_connection_lost_under_a_waiting_send_drops_it_and_all_behind_it(
    failure, caplog
):
    connection, dropped = Connection(), Dropped()
    outbox = Outbox(connection.send, dropped)
    connection.writable.clear()
    outbox.put(text("a"), samples=100)
    outbox.put(text("b"), samples=100)
    connection.failure = failure
    connection.writable.set()
    await asyncio.wait_for(outbox.writer, 1)
    assert (connection.sent, dropped) == ([], ["a", "b"])
    assert (outbox.unsent_samples, outbox.finished, outbox.writer) == (0, True, None)
    outbox.put(text("late"))
    assert dropped[-1] == "late"
    assert [r for r in caplog.records if r.levelname != "DEBUG"] == []


async def test_nothing_is_sent_after_the_close():
    connection, dropped = Connection(), Dropped()
    outbox = Outbox(connection.send, dropped)
    outbox.put(text("error"))
    outbox.close(4429)
    outbox.put(text("reply"))
    assert connection.sent == ["error", "websocket.close"]
    assert dropped == ["reply"]


async def test_a_close_put_while_stalled_goes_out_last_and_nothing_after_it():
    connection, dropped = Connection(), Dropped()
    outbox = Outbox(connection.send, dropped)
    connection.writable.clear()
    outbox.put(text("a"))
    outbox.close(1000)
    outbox.put(text("b"))
    connection.writable.set()
    await asyncio.wait_for(outbox.writer, 1)
    assert (connection.sent, dropped) == (["a", "websocket.close"], ["b"])


async def test_cancel_stops_a_waiting_send_and_drops_everything_left():
    connection, dropped = Connection(), Dropped()
    outbox = Outbox(connection.send, dropped)
    connection.writable.clear()
    outbox.put(text("a"), samples=10)
    outbox.put(text("b"), samples=10)
    writer = outbox.writer
    outbox.cancel()
    connection.writable.set()
    with pytest.raises(asyncio.CancelledError):
        await writer
    assert (connection.sent, dropped, outbox.unsent_samples) == ([], ["a", "b"], 0)
    assert outbox.finished


# The ASGI spec promises an awaitable from send, nothing more: a coroutine (Daphne,
# Uvicorn), a Future, or any object with __await__ (a Rust future, say).


class FutureSend:
    """A send that returns an asyncio Future, done at once unless stalled."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.pending: list[tuple[asyncio.Future, str]] = []
        self.stalled = False
        self.failure: Exception | None = None

    def __call__(self, message: dict) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        if self.failure is not None:
            future.set_exception(self.failure)
        elif self.stalled:
            self.pending.append((future, message["text"]))
        else:
            self.sent.append(message["text"])
            future.set_result(None)
        return future

    def release(self) -> None:
        self.stalled = False
        for future, value in self.pending:
            self.sent.append(value)
            future.set_result(None)
        self.pending.clear()


class AwaitableSend:
    """A send that returns an object with __await__ (no coroutine, no Future)."""

    class Sending:
        def __init__(self, done: asyncio.Future | None) -> None:
            self.done = done

        def __await__(self):
            if self.done is not None:
                yield from self.done.__await__()

    def __init__(self) -> None:
        self.futures = FutureSend()
        self.sent = self.futures.sent

    def __call__(self, message: dict) -> Sending:
        future = self.futures(message)
        return self.Sending(
            None if future.done() and not future.exception() else future
        )


@pytest.mark.parametrize("make_send", [FutureSend, AwaitableSend])
async def test_any_awaitable_send_is_used_at_once_while_it_completes_at_once(
    make_send,
):
    send = make_send()
    outbox = Outbox(send)
    for value in "abc":
        outbox.put(text(value), samples=1024)
        assert send.sent[-1] == value  # before anything else runs
    assert (outbox.writer, outbox.unsent_samples) == (None, 0)


@pytest.mark.parametrize("make_send", [FutureSend, AwaitableSend])
async def test_any_awaitable_send_that_waits_gets_the_writer_in_order(make_send):
    send = make_send()
    futures = getattr(send, "futures", send)
    outbox = Outbox(send)
    futures.stalled = True
    outbox.put(text("a"), samples=10)
    outbox.put(text("b"), samples=10)
    assert outbox.writer is not None and outbox.unsent_samples == 20
    await asyncio.sleep(0.01)
    futures.release()
    await asyncio.wait_for(outbox.writer, 1)
    assert (send.sent, outbox.unsent_samples) == (["a", "b"], 0)


@pytest.mark.parametrize("make_send", [FutureSend, AwaitableSend])
async def test_any_awaitable_send_that_fails_finishes_the_outbox(make_send):
    send, dropped = make_send(), Dropped()
    getattr(send, "futures", send).failure = ConnectionResetError("gone")
    outbox = Outbox(send, dropped)
    outbox.put(text("a"))
    assert (outbox.finished, dropped, outbox.writer) == (True, ["a"], None)
