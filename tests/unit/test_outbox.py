"""The outbox sends in order, at once while the connection takes data, and counts
the audio waiting while it does not."""

from __future__ import annotations

import asyncio

import pytest

from echo.outbox import Outbox


class Connection:
    """An ASGI send that waits while ``writable`` is clear, as Uvicorn's does."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.fail = False
        self.full_after_each = False  # every message fills the buffer again

    async def send(self, message: dict) -> None:
        await self.writable.wait()
        if self.fail:
            raise ConnectionResetError("gone")
        self.sent.append(message["text"])
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


async def test_dropping_the_waiting_keeps_the_message_being_sent():
    connection = Connection()
    outbox = Outbox(connection.send)
    connection.writable.clear()
    outbox.put(text("in flight"), samples=100)
    outbox.put(text("x"), samples=100)
    outbox.put(text("y"), samples=100)
    assert [m["text"] for m in outbox.drop_waiting()] == ["x", "y"]
    assert outbox.unsent_samples == 100
    outbox.put(text("error"))
    connection.writable.set()
    await asyncio.wait_for(outbox.writer, 1)
    assert connection.sent == ["in flight", "error"]


async def test_a_connection_lost_under_a_waiting_send_ends_the_writer_quietly(caplog):
    connection = Connection()
    outbox = Outbox(connection.send)
    connection.writable.clear()
    outbox.put(text("a"), samples=100)
    outbox.put(text("b"), samples=100)
    connection.fail = True
    connection.writable.set()
    await asyncio.wait_for(outbox.writer, 1)
    assert (connection.sent, outbox.unsent_samples, len(outbox.waiting)) == ([], 0, 0)
    assert caplog.records == []


async def test_cancel_stops_a_waiting_send():
    connection = Connection()
    outbox = Outbox(connection.send)
    connection.writable.clear()
    outbox.put(text("a"))
    outbox.put(text("b"))
    writer = outbox.writer
    outbox.cancel()
    connection.writable.set()
    with pytest.raises(asyncio.CancelledError):
        await writer
    assert connection.sent == []


async def test_an_error_of_a_send_that_did_not_wait_is_raised_by_put():
    connection = Connection()
    connection.fail = True
    outbox = Outbox(connection.send)
    with pytest.raises(ConnectionResetError):
        outbox.put(text("a"))
    assert outbox.writer is None
