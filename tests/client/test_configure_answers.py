"""``Session.configure`` takes only its own answer, leaves everything else for
``receive`` in order, and raises how the session ended when it ends first:
against a server scripted to answer a configure in a given way."""

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable

import pytest
from websockets.asyncio.server import ServerConnection, serve

import wsaudio_client as client

WAIT = 10  # seconds any exchange may take before a test fails
Answer = Callable[[ServerConnection, dict], Awaitable[None]]


async def send(websocket: ServerConnection, **message) -> None:
    await websocket.send(json.dumps(message))


async def scripted_session(
    answer: Answer, accepts: list[str], websocket: ServerConnection
) -> None:
    """Echo binary messages; answer each configure with ``answer``."""
    await send(
        websocket,
        type="ready",
        protocol=1,
        session=str(uuid.uuid4()),
        rate=8000,
        format="f32",
        processor="gain",
        chain=[{"name": "gain", "options": {"db": 0.0}}],
        max_frame_samples=8000,
        accepts=accepts,
        limits={},
    )
    async for message in websocket:
        if isinstance(message, bytes):
            await websocket.send(message)
        elif (request := json.loads(message))["type"] == "configure":
            await answer(websocket, request)


async def with_server(
    answer: Answer,
    run: Callable[[client.Session], Awaitable],
    accepts: tuple[str, ...] = ("ping", "configure"),
):
    def handler(websocket: ServerConnection) -> Awaitable[None]:
        return scripted_session(answer, list(accepts), websocket)

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with client.connect(f"ws://127.0.0.1:{port}", 8000) as session:
            return await asyncio.wait_for(run(session), WAIT)


async def another_error_then_the_answer(websocket, request):
    await send(websocket, type="error", code="bad_message", detail="not json")
    await send(websocket, type="error", code="bad_message", detail="old", id=0)
    await send(
        websocket,
        type="configured",
        id=request["id"],
        processor=request["processor"],
        options={"db": -6.0},
    )


async def an_operator_ends_the_session(websocket, request):
    await websocket.close(4001)


async def test_errors_for_other_messages_wait_for_receive_after_the_answer():
    async def run(session):
        await session.send(b"\x00" * 8)
        answer = await session.configure("gain", db=-6)
        later = []
        for _ in range(3):
            try:
                later.append(await session.receive())
            except client.BadMessage as error:
                later.append(error)
        return answer, later

    answer, (reply, no_id, other_id) = await with_server(
        another_error_then_the_answer, run
    )
    assert answer["options"] == {"db": -6.0}
    assert reply.frame == 0
    assert (no_id.detail, no_id.fields) == ("not json", {})
    assert (other_id.detail, other_id.fields) == ("old", {"id": 0})


async def test_a_session_that_ends_before_the_answer_raises_from_configure():
    async def run(session):
        with pytest.raises(client.SessionClosed) as ended:
            await session.configure("gain", db=-6)
        return ended.value

    ended = await with_server(an_operator_ends_the_session, run)
    assert ended.close_code == 4001


async def test_a_session_that_ends_while_another_task_reads_raises_in_both():
    async def run(session):
        receiver = asyncio.create_task(session.receive())
        await asyncio.sleep(0.05)  # the receiver is waiting on the socket
        with pytest.raises(client.SessionClosed) as in_configure:
            await session.configure("gain", db=-6)
        with pytest.raises(client.SessionClosed) as in_receive:
            await receiver
        return in_configure.value, in_receive.value

    in_configure, in_receive = await with_server(an_operator_ends_the_session, run)
    assert in_configure is in_receive
    assert in_configure.close_code == 4001


async def test_a_server_that_does_not_accept_configure_is_not_asked():
    async def run(session):
        with pytest.raises(client.WsaudioError, match="does not accept configure"):
            await session.configure("gain", db=-6)

    await with_server(another_error_then_the_answer, run, accepts=("ping",))
