"""Session records: what a session leaves in the database, written off its audio."""

import logging
import os
import socket
from contextlib import asynccontextmanager

import numpy as np
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.db import connection
from django.test import AsyncClient, Client

from echo.models import SessionRecord
from echo.records import flusher as records_flusher
from tests.conftest import frames, sine
from wsaudio_site.asgi import application

from .conftest import expect_close, open_session, send_control, stats

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_sync_thread_connections"),
]

RATE = 16384
TONE = sine(RATE, 1.0, 1000, amplitude=0.25)  # -12.04 dBFS, peak and RMS
FRAMES = [block.tobytes() for block in frames(TONE, 1024)]  # 16 frames of f32


def aes17_dbfs(audio: np.ndarray) -> tuple[float, float]:
    """Peak and RMS dBFS of ``audio`` by AES17, in float64, for comparison."""
    audio = audio.astype(np.float64)
    rms = np.sqrt(np.mean(audio**2))
    return 20 * np.log10(np.abs(audio).max()), 20 * np.log10(np.sqrt(2) * rms)


async def stream(comm: WebsocketCommunicator, blocks=FRAMES) -> None:
    for block in blocks:
        await comm.send_to(bytes_data=block)
        assert await comm.receive_from() == block


async def record(ready: dict) -> SessionRecord:
    return await SessionRecord.objects.aget(uuid=ready["session"])


async def test_a_finished_session_leaves_exact_counts_levels_and_its_end(flusher):
    async with open_session(f"/ws/echo/{RATE}/") as (comm, ready):
        await stream(comm)
        await comm.send_to(bytes_data=b"\x00\x00\x00")  # one bad frame
        await comm.receive_json_from()
    assert await flusher.flush() == 1
    row = await record(ready)
    assert (row.rate, row.format, row.processor) == (RATE, "f32", "echo")
    assert (row.frames_in, row.frames_out, row.bad_frames) == (16, 16, 1)
    assert (row.bytes_in, row.bytes_out) == (16 * 4096 + 3, 16 * 4096)
    assert row.audio_seconds == 1.0
    assert (row.errors, row.nonfinite_samples, row.rate_limited_frames) == (1, 0, 0)
    peak, rms = aes17_dbfs(TONE)
    assert row.peak_dbfs == pytest.approx(peak, abs=0.1)
    assert row.rms_dbfs == pytest.approx(rms, abs=0.1)
    assert rms == pytest.approx(-12.04, abs=0.01)
    assert 0 < row.proc_us_mean <= row.proc_us_max
    assert 0 < row.proc_us_p99 <= row.proc_us_max
    assert (row.ended_by, row.close_code, row.close_error) == ("client", 1000, "")
    assert row.started_at <= row.ended_at
    assert row.duration_seconds == (row.ended_at - row.started_at).total_seconds()
    assert (row.worker_host, row.worker_pid) == (socket.gethostname(), os.getpid())
    assert row.client_ip is None and row.user is None


async def test_a_running_session_has_a_row_that_follows_it(flusher):
    async with open_session(f"/ws/echo/{RATE}/?format=s16") as (comm, ready):
        assert await flusher.flush() == 1  # new: written though no audio came yet
        row = await record(ready)
        assert (row.frames_in, row.ended_at, row.ended_by) == (0, None, "")
        assert row.peak_dbfs == row.rms_dbfs == -120.0  # the floor: no audio yet
        assert await flusher.flush() == 0  # unchanged: nothing to write
        pcm = (TONE[:1024] * 32768).astype("<i2").tobytes()
        await stream(comm, [pcm] * 3)
        assert await flusher.flush() == 1
        assert (await record(ready)).frames_in == 3
        await send_control(comm, {"type": "ping"})
        assert await flusher.flush() == 0  # a ping changes nothing in the record
    await flusher.flush()
    assert (await record(ready)).ended_at is not None


async def test_a_server_close_keeps_its_code_and_the_error_that_preceded_it(
    flusher, settings
):
    settings.WSAUDIO_MAX_FRAME_SECONDS = 0.25
    async with open_session(f"/ws/echo/{RATE}/") as (comm, ready):
        await comm.send_to(bytes_data=np.zeros(4097, "<f4").tobytes())
        assert (await comm.receive_json_from())["code"] == "frame_too_large"
        assert await expect_close(comm) == 4413
    await flusher.flush()
    row = await record(ready)
    assert (row.ended_by, row.close_code, row.close_error) == (
        "server",
        4413,
        "frame_too_large",
    )
    assert (row.frames_in, row.bytes_in, row.errors) == (0, 4 * 4097, 1)


async def test_a_dropped_connection_keeps_the_code_of_its_disconnect(flusher):
    comm = WebsocketCommunicator(application, f"/ws/echo/{RATE}/")
    await comm.connect()
    ready = await comm.receive_json_from()
    await stream(comm, FRAMES[:2])
    await comm.disconnect(code=1006)  # what the server sees when TCP is cut
    await flusher.flush()
    row = await record(ready)
    assert (row.ended_by, row.close_code, row.frames_in) == ("client", 1006, 2)


async def test_refused_sessions_leave_no_row_and_are_counted(flusher, settings):
    settings.WSAUDIO_MAX_SESSIONS = 1

    async def refused() -> dict:
        info = await AsyncClient().get("/api/info/")
        return info.json()["sessions_refused"]

    before = await refused()
    for path in ("/ws/echo/123/", "/ws/echo/16000/?format=f64"):
        comm = WebsocketCommunicator(application, path)
        await comm.connect()
        assert (await comm.receive_json_from())["code"] == "bad_request"
        await comm.wait()
    async with open_session():
        comm = WebsocketCommunicator(application, "/ws/echo/16000/")
        await comm.connect()
        assert (await comm.receive_json_from())["code"] == "busy"
        await comm.wait()
        origin = WebsocketCommunicator(
            application, "/ws/echo/16000/", headers=[(b"origin", b"https://evil.test")]
        )
        assert (await origin.connect())[0] is False
    await flusher.flush()
    assert await SessionRecord.objects.acount() == 1  # the session that got ready
    after = await refused()
    assert {k: after[k] - before[k] for k in after} == {
        "bad_request": 2,
        "busy": 1,
        "origin": 1,
        "shutting_down": 0,
    }


async def test_with_records_off_no_row_is_kept_but_stats_still_answer(
    flusher, settings
):
    settings.WSAUDIO_STORE_METRICS = False
    async with open_session(f"/ws/echo/{RATE}/") as (comm, _):
        await stream(comm, FRAMES[:4])
        assert (await stats(comm))["frames_in"] == 4
    assert await flusher.flush() == 0
    assert await SessionRecord.objects.acount() == 0


async def test_the_latest_client_stats_are_kept_and_bad_ones_refused(flusher):
    async with open_session(f"/ws/echo/{RATE}/") as (comm, ready):
        assert "client_stats" in ready["accepts"]
        report = {"type": "client_stats", "rtt_ms_p50": 14.5, "underruns": 1}
        await comm.send_json_to(report)
        await comm.send_json_to({**report, "rtt_ms_p95": 31, "new_metric": "x"})
        await comm.send_json_to({"type": "client_stats", "underruns": 3})
        error = await send_control(comm, {"type": "client_stats", "overruns": -1})
        assert error["code"] == "bad_message"
        await stream(comm, FRAMES[:1])  # no reply came to client_stats before it
    await flusher.flush()
    row = await record(ready)
    assert (row.client_rtt_ms_p50, row.client_rtt_ms_p95) == (14.5, 31.0)
    assert (row.client_underruns, row.client_overruns) == (3, None)
    assert row.client_buffered_ms is None


async def test_the_user_logged_in_to_the_site_is_recorded(flusher):
    @sync_to_async
    def session_cookies() -> tuple[User, str, str]:
        user = User.objects.create_user("ada", password="analytical-engine")
        client = Client()
        client.force_login(user)
        stale = Client()
        stale.force_login(User.objects.create_user("bob", password="difference"))
        cookie = client.cookies["sessionid"].value
        forged = stale.cookies["sessionid"].value
        User.objects.filter(username="bob").update(password="changed")  # logs out
        return user, cookie, forged

    user, cookie, stale = await session_cookies()
    uuids = []
    for header in (f"sessionid={cookie}", f"sessionid={stale}", "sessionid=nope", ""):
        headers = [(b"cookie", header.encode())] if header else []
        async with open_session(headers=headers) as (_, ready):
            uuids.append(ready["session"])
    await flusher.flush()
    users = [
        (await SessionRecord.objects.select_related("user").aget(uuid=uuid)).user
        for uuid in uuids
    ]
    assert users == [user, None, None, None]


@asynccontextmanager
async def records_table_away():
    """While inside, the records table is missing: every write of records fails."""
    table = SessionRecord._meta.db_table

    @sync_to_async
    def rename_table(old: str, new: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {old} RENAME TO {new}")

    await rename_table(table, f"{table}_away")
    try:
        yield
    finally:
        await rename_table(f"{table}_away", table)


async def test_audio_flows_while_the_database_fails_and_every_row_lands_after(
    flusher, caplog
):
    caplog.set_level(logging.WARNING, logger="echo.records.flusher")
    async with open_session(f"/ws/echo/{RATE}/") as (comm, early):
        await stream(comm, FRAMES[:2])
    assert await flusher.flush() == 1  # a finished session, before the outage
    async with records_table_away():
        async with open_session(f"/ws/echo/{RATE}/") as (comm, during):
            for block in FRAMES:
                await comm.send_to(bytes_data=block)
                assert await comm.receive_from() == block
                assert await flusher.flush() == 0  # fails, and the audio goes on
            assert flusher.failing
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1, "a failing database is logged once, not per flush"
    assert await flusher.flush() == 1  # the final values, kept through the outage
    row = await record(during)
    assert (row.frames_in, row.close_code) == (16, 1000)
    assert row.ended_at is not None
    assert (await record(early)).frames_in == 2
    assert not flusher.failing
    assert "takes records again" in caplog.records[-1].getMessage()


async def test_a_long_outage_keeps_only_the_newest_records_in_memory(
    flusher, monkeypatch, caplog
):
    monkeypatch.setattr(records_flusher, "MAX_UNSAVED_FINAL_ROWS", 2)
    sessions = []
    async with records_table_away():
        for _ in range(3):
            async with open_session() as (_, ready):
                sessions.append(ready["session"])
            await flusher.flush()
    assert await flusher.flush() == 2
    kept = [uuid async for uuid in SessionRecord.objects.values_list("uuid", flat=True)]
    assert sorted(str(uuid) for uuid in kept) == sorted(sessions[1:])
    assert flusher.dropped == 1
    assert "dropping the oldest unsaved records" in caplog.text


async def test_a_record_the_database_refuses_is_dropped_alone(flusher, caplog):
    async with open_session() as (_, good):
        pass
    async with open_session() as (_, bad):
        (recorder,) = flusher.open
        recorder.server_closed(-1, "bad_frame")  # breaks the close code's CHECK
    assert await flusher.flush() == 1  # both tried, in one go and then alone
    assert [
        str(uuid) async for uuid in SessionRecord.objects.values_list("uuid", flat=True)
    ] == [good["session"]]
    assert f"record {bad['session']} refused; dropped" in caplog.text
    assert not flusher.failing and not flusher.final_rows


async def test_a_disconnect_code_outside_websocket_codes_is_kept_as_none(flusher):
    comm = WebsocketCommunicator(application, f"/ws/echo/{RATE}/")
    await comm.connect()
    ready = await comm.receive_json_from()
    await comm.disconnect(code=70000)
    await flusher.flush()
    assert ((await record(ready)).ended_by, (await record(ready)).close_code) == (
        "client",
        None,
    )
