"""A session with ``reconnect`` follows its server through each way a server goes
(``shutting_down``, a dropped connection, 1001, 1012, refused handshakes, a full
server), numbers its frames on across sessions and reports each gap; it raises at
once what a new session would only meet again: against a scripted server."""

import asyncio
import time

import numpy as np
import pytest

import wsaudio_client as client

from .scripted_server import (
    RefuseHandshake,
    RefuseSession,
    ScriptedEchoServer,
    Serve,
    closed_with,
    dropped,
    error_then_close,
    shutting_down,
)

RATE = 8000
WAIT = 10  # seconds any exchange may take before a test fails
QUICK = client.Reconnect(first_delay=0.01, max_delay=0.05, jitter=0.5, deadline=5)


def frame(number: int) -> bytes:
    """Frame ``number`` of a stream: 16 f32 samples that say which it is."""
    return np.full(16, number / 1000, dtype=np.float32).tobytes()


async def next_gap(session: client.ReconnectingSession) -> client.Gap:
    """Receive until a gap arrives; fail on a reply or message before it."""
    message = await asyncio.wait_for(session.receive(), WAIT)
    assert isinstance(message, client.Gap), message
    return message


async def replies(session, count: int) -> list[client.Reply]:
    return [await asyncio.wait_for(session.receive(), WAIT) for _ in range(count)]


async def until_disconnected(session: client.ReconnectingSession) -> None:
    """Until the session has seen its end: what is sent then goes into the void."""
    async with asyncio.timeout(WAIT):
        while session.connected:  # noqa: ASYNC110 - the client has no event for it
            await asyncio.sleep(0.001)


async def send_all(session, numbers) -> list[int]:
    return [await session.send(frame(number)) for number in numbers]


# --- what a gap is -------------------------------------------------------------


async def test_after_shutting_down_a_new_session_answers_the_frames_that_follow():
    async with (
        ScriptedEchoServer(Serve(answer=3, swallow=1, end=shutting_down)) as server,
        client.connect(server.url, RATE, reconnect=QUICK) as session,
    ):
        first = session.ready.session
        assert await send_all(session, range(4)) == [0, 1, 2, 3]
        before = await replies(session, 3)
        gap = await next_gap(session)
        assert await send_all(session, range(4, 7)) == [4, 5, 6]
        after = await replies(session, 3)
    assert [reply.frame for reply in before + after] == [0, 1, 2, 4, 5, 6]
    assert all(reply.data == frame(reply.frame) for reply in before + after)
    assert (gap.cause, gap.lost, gap.unanswered, gap.into_the_void) == (
        "shutting_down",
        (3,),
        1,
        0,
    )
    assert (gap.old_session, gap.new_session) == (first, session.ready.session)
    assert gap.new_session != first
    assert (gap.resumed_at, gap.attempts, gap.refusals) == (4, 1, {})
    assert session.gaps == [gap]
    assert server.frames[1] == [frame(4), frame(5), frame(6)]


@pytest.mark.parametrize(
    ("end", "cause"),
    [
        (shutting_down, "shutting_down"),
        (dropped, "dropped"),
        (closed_with(1012), "close_1012"),  # Uvicorn shutting down
        (closed_with(1001), "close_1001"),  # going away
        (closed_with(4502), "close_4502"),  # the code without its error
    ],
)
async def test_each_way_a_server_goes_is_a_gap_named_for_it(end, cause):
    async with (
        ScriptedEchoServer(Serve(answer=2, end=end)) as server,
        client.connect(server.url, RATE, reconnect=QUICK) as session,
    ):
        await send_all(session, range(2))
        await replies(session, 2)
        gap = await next_gap(session)
        await send_all(session, [2])
        (reply,) = await replies(session, 1)
    assert gap.cause == cause
    assert gap.lost == ()
    assert reply.frame == 2 and reply.data == frame(2)
    assert server.sessions == 2


async def test_frames_sent_with_no_session_are_lost_into_the_void_and_counted():
    async with (
        ScriptedEchoServer(Serve(answer=2, swallow=2, end=dropped, down=0.3)) as server,
        client.connect(server.url, RATE, reconnect=QUICK) as session,
    ):
        await send_all(session, range(4))
        await replies(session, 2)
        await until_disconnected(session)
        void = await send_all(session, range(4, 9))
        gap = await next_gap(session)
        await send_all(session, range(9, 11))
        after = await replies(session, 2)
    assert void == [4, 5, 6, 7, 8]
    assert gap.lost == (2, 3, 4, 5, 6, 7, 8)
    assert (gap.frames_lost, gap.unanswered, gap.into_the_void) == (7, 2, 5)
    assert gap.resumed_at == 9
    assert [reply.frame for reply in after] == [9, 10]
    assert [reply.data for reply in after] == [frame(9), frame(10)]
    # The void is not a buffer: the new session got only what followed it.
    assert server.frames[1] == [frame(9), frame(10)]


async def test_a_gap_lasts_from_the_end_of_a_session_to_the_next_ready():
    async with (
        ScriptedEchoServer(Serve(answer=0, end=dropped, down=0.4)) as server,
        client.connect(server.url, RATE, reconnect=QUICK) as session,
    ):
        gap = await next_gap(session)
    assert 0.4 <= gap.seconds < 0.4 + 1.0
    assert gap.attempts >= 2  # the first ones were refused: nothing listened
    assert set(gap.refusals) == {"unreachable"}
    assert sum(gap.refusals.values()) == gap.attempts - 1


async def test_frames_are_numbered_on_across_several_gaps():
    steps = [Serve(answer=2, end=shutting_down), Serve(answer=3, end=dropped)]
    async with (
        ScriptedEchoServer(*steps) as server,
        client.connect(server.url, RATE, reconnect=QUICK) as session,
    ):
        seen = []
        for numbers in (range(2), range(2, 5), range(5, 7)):
            await send_all(session, numbers)
            seen += await replies(session, len(numbers))
            if numbers.stop < 7:
                seen.append(await next_gap(session))
    frames = [m.frame if isinstance(m, client.Reply) else "gap" for m in seen]
    assert frames == [0, 1, "gap", 2, 3, 4, "gap", 5, 6]
    assert [gap.cause for gap in session.gaps] == ["shutting_down", "dropped"]
    assert [gap.resumed_at for gap in session.gaps] == [2, 5]
    assert server.sessions == 3


async def test_an_error_about_a_frame_names_the_clients_index_after_a_gap():
    async with (
        ScriptedEchoServer(Serve(answer=1, end=shutting_down)) as server,
        client.connect(server.url, RATE, reconnect=QUICK) as session,
    ):
        await send_all(session, [0])
        await replies(session, 1)
        await next_gap(session)
        await send_all(session, [1])
        await session.send(b"")
        (reply,) = await replies(session, 1)
        with pytest.raises(client.BadFrame) as refused:
            await asyncio.wait_for(session.receive(), WAIT)
        await session.ping("still open")
        pong = await asyncio.wait_for(session.receive(), WAIT)
    assert reply.frame == 1
    assert refused.value.frame == 2  # the server's frame 1 of the new session
    assert pong == {"type": "pong", "id": "still open"}
    assert server.sessions == 2


async def test_an_analysis_message_names_the_clients_index_after_a_gap():
    async with (
        ScriptedEchoServer(Serve(answer=1, end=dropped)) as server,
        client.connect(
            server.url, RATE, processor="analysis", reconnect=QUICK
        ) as session,
    ):
        await send_all(session, [0])
        before = await replies(session, 2)
        await next_gap(session)
        await send_all(session, [1, 2])
        after = await replies(session, 4)
    analysis = [m["frame"] for m in before + after if isinstance(m, dict)]
    assert [m.frame for m in before + after if isinstance(m, client.Reply)] == [0, 1, 2]
    assert analysis == [0, 1, 2]  # each follows its reply, naming the same frame


# --- what it retries, and what not ------------------------------------------------


async def test_refused_handshakes_and_a_full_server_are_retried_until_admitted():
    steps = [
        Serve(answer=1, end=shutting_down),
        RefuseHandshake(503),  # Uvicorn while it drains
        RefuseHandshake(403),  # Daphne while it drains
        RefuseSession("busy", 4503),
        RefuseSession("shutting_down", 4502),
    ]
    async with (
        ScriptedEchoServer(*steps) as server,
        client.connect(server.url, RATE, reconnect=QUICK) as session,
    ):
        await send_all(session, [0])
        await replies(session, 1)
        gap = await next_gap(session)
    assert gap.attempts == 5
    assert gap.refusals == {
        "http_503": 1,
        "http_403": 1,
        "busy": 1,
        "shutting_down": 1,
    }
    assert server.handshakes == 6


@pytest.mark.parametrize(
    ("end", "error", "close_code"),
    [
        (closed_with(4001), client.SessionClosed, 4001),  # an operator ended it
        (error_then_close("bad_request", 4400), client.BadRequest, 4400),
        (error_then_close("too_many_errors", 4429), client.TooManyErrors, 4429),
        (error_then_close("too_many_messages", 4429), client.TooManyMessages, 4429),
        (error_then_close("frame_too_large", 4413), client.FrameTooLarge, 4413),
        (error_then_close("idle_timeout", 4408), client.IdleTimeout, 4408),
        (error_then_close("not_reading", 4509), client.NotReading, 4509),
        (error_then_close("processing_failed", 4500), client.ProcessingFailed, 4500),
        (closed_with(1011), client.SessionClosed, 1011),  # the server broke
        (closed_with(1000), client.SessionClosed, 1000),
    ],
)
async def test_an_end_a_new_session_would_meet_again_raises_at_once(
    end, error, close_code
):
    slow = client.Reconnect(first_delay=5, max_delay=5, deadline=10)
    async with ScriptedEchoServer(Serve(answer=1, end=end)) as server:
        async with client.connect(server.url, RATE, reconnect=slow) as session:
            await send_all(session, [0])
            await replies(session, 1)
            started = time.monotonic()
            with pytest.raises(error) as ended:
                await asyncio.wait_for(session.receive(), WAIT)
            waited = time.monotonic() - started
            # It stays raised, and a frame sent now raises it too.
            with pytest.raises(error):
                await session.receive()
            with pytest.raises(error):
                await session.send(frame(1))
        assert ended.value.close_code == close_code
        assert waited < 1  # no backoff was waited for
        assert server.handshakes == 1
        assert session.gaps == []


async def test_a_reconnect_refused_for_its_parameters_raises_bad_request():
    steps = [Serve(answer=0, end=shutting_down), RefuseSession("bad_request", 4400)]
    async with (
        ScriptedEchoServer(*steps) as server,
        client.connect(server.url, RATE, reconnect=QUICK) as session,
    ):
        with pytest.raises(client.BadRequest) as refused:
            await asyncio.wait_for(session.receive(), WAIT)
    assert refused.value.close_code == 4400
    assert server.handshakes == 2


async def test_past_the_deadline_it_gives_up_and_raises_the_last_refusal():
    policy = client.Reconnect(first_delay=0.05, max_delay=0.2, deadline=1.0)
    steps = [Serve(answer=0, end=shutting_down), *[RefuseHandshake(503)] * 1000]
    async with (
        ScriptedEchoServer(*steps) as server,
        client.connect(server.url, RATE, reconnect=policy) as session,
    ):
        started = time.monotonic()
        with pytest.raises(client.HandshakeFailed) as gave_up:
            await asyncio.wait_for(session.receive(), WAIT)
        waited = time.monotonic() - started
    assert gave_up.value.status == 503
    assert "gave up reconnecting after" in gave_up.value.__notes__[0]
    assert 1.0 <= waited < 1.0 + 0.5
    # Doubling from 50 ms to 200 ms, less up to half of each: 5 to 10 attempts.
    assert 5 <= server.handshakes - 1 <= 12
    assert session.gaps == []


async def test_without_reconnect_shutting_down_raises_with_its_close_code():
    async with (
        ScriptedEchoServer(Serve(answer=1, end=shutting_down)) as server,
        client.connect(server.url, RATE) as session,
    ):
        await session.send(frame(0))
        await replies(session, 1)
        with pytest.raises(client.ShuttingDown) as going:
            await asyncio.wait_for(session.receive(), WAIT)
    assert going.value.close_code == 4502
    assert going.value.closes_session
    assert server.handshakes == 1


async def test_a_first_connect_that_fails_raises_as_without_reconnect():
    async with ScriptedEchoServer(RefuseHandshake(503)) as server:
        with pytest.raises(client.HandshakeFailed) as refused:
            async with client.connect(server.url, RATE, reconnect=QUICK):
                pass
    assert refused.value.status == 503
    assert server.handshakes == 1


# --- the rest of a session, across sessions ---------------------------------------


async def test_options_given_by_configure_are_given_to_the_next_session_first():
    async with (
        ScriptedEchoServer(Serve(answer=1, end=shutting_down)) as server,
        client.connect(server.url, RATE, reconnect=QUICK) as session,
    ):
        answer = await asyncio.wait_for(session.configure("gain", db=-6), WAIT)
        await session.configure("gain", db=-12)
        await session.send(frame(0))
        await replies(session, 1)
        await next_gap(session)
        await session.send(frame(1))
        await replies(session, 1)
    assert answer["options"] == {"db": -6}
    again = server.configures[1]
    assert [(c["processor"], c["options"]) for c in again] == [("gain", {"db": -12})]


async def test_a_control_message_sent_in_a_gap_goes_to_the_next_session():
    async with (
        ScriptedEchoServer(Serve(answer=0, end=dropped, down=0.2)) as server,
        client.connect(server.url, RATE, reconnect=QUICK) as session,
    ):
        await until_disconnected(session)
        await asyncio.wait_for(session.request_stats(), WAIT)
        gap = await next_gap(session)
        stats = await asyncio.wait_for(session.receive(), WAIT)
    assert gap.cause == "dropped"
    assert stats == {"type": "stats", "frames_in": 0}
    assert server.sessions == 2


async def test_closing_in_a_gap_ends_the_iteration_and_opens_nothing():
    async with (
        ScriptedEchoServer(Serve(answer=0, end=dropped, down=2)) as server,
        client.connect(server.url, RATE, reconnect=QUICK) as session,
    ):
        await until_disconnected(session)
        await session.close()
        received = [message async for message in session]
    assert received == []
    assert server.sessions == 1


async def test_a_session_closed_by_the_client_iterates_to_its_end_as_before():
    async with (
        ScriptedEchoServer() as server,
        client.connect(server.url, RATE, reconnect=QUICK) as session,
    ):
        await send_all(session, range(3))
        received = []
        async for reply in session:
            received.append(reply.frame)
            if len(received) == 3:
                await session.close()
    assert received == [0, 1, 2]
    assert server.handshakes == 1
