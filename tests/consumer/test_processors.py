"""Chains, options, configure and analysis through the whole application."""

import numpy as np
import pytest
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient

from echo.models import SessionRecord
from echo.processors import PROCESSORS, Chain, Echo
from echo.protocol import F32, S16, decode_frame, encode_frame
from tests.chain_cases import BAD_QUERIES, CHAIN, CHAIN_QUERY
from tests.conftest import frames, sine
from wsaudio_site.asgi import application

from .conftest import expect_close, open_session, send_control

RATE = 16384
TONE = sine(RATE, 1.0, 440, amplitude=0.25)
NOISE = np.random.default_rng(9).uniform(-0.5, 0.5, RATE).astype(np.float32)


def expected_replies(names, texts, blocks, fmt):
    """What the chain does to each frame, run here in the test's own process."""
    chain = Chain.build(PROCESSORS, names, texts, RATE)
    return [
        encode_frame(chain.process(decode_frame(encode_frame(block, fmt), fmt)), fmt)
        for block in blocks
    ]


@pytest.mark.parametrize("fmt", [F32, S16], ids=["f32", "s16"])
async def test_a_chain_over_the_wire_is_its_stages_run_one_after_another(fmt):
    texts = {"gain": {"db": "-6"}, "highpass": {"cutoff_hz": "300"}}
    blocks = frames(NOISE, 1024)
    expected = expected_replies(CHAIN.split(","), texts, blocks, fmt)
    path = f"/ws/echo/{RATE}/?format={fmt.name}&{CHAIN_QUERY}"
    async with open_session(path) as (comm, ready):
        assert ready["processor"] == CHAIN
        for block, reply in zip(blocks, expected, strict=True):
            await comm.send_to(bytes_data=encode_frame(block, fmt))
            assert await comm.receive_from() == reply


@pytest.mark.parametrize("fmt", [F32, S16], ids=["f32", "s16"])
async def test_a_chain_of_identities_sends_every_frame_back_byte_for_byte(fmt):
    # One report per 16384 samples: none falls due in these 16,000.
    query = "processor=echo,analysis&analysis.hop=16384"
    async with open_session(f"/ws/echo/{RATE}/?format={fmt.name}&{query}") as (
        comm,
        _,
    ):
        for block in frames(NOISE[:16000], 1000):
            frame = encode_frame(block, fmt)
            await comm.send_to(bytes_data=frame)
            assert await comm.receive_from() == frame
        assert await comm.receive_nothing()


async def test_ready_lists_the_chain_with_every_resolved_option():
    async with open_session(f"/ws/echo/{RATE}/?{CHAIN_QUERY}") as (_, ready):
        assert ready["chain"] == [
            {"name": "highpass", "options": {"cutoff_hz": 300.0, "order": 4}},
            {
                "name": "compressor",
                "options": {
                    "threshold_db": -20.0,
                    "ratio": 4.0,
                    "attack_ms": 5.0,
                    "release_ms": 100.0,
                },
            },
            {"name": "gain", "options": {"db": -6.0}},
        ]
        assert "configure" in ready["accepts"]


@pytest.mark.parametrize(("query", "detail"), BAD_QUERIES)
async def test_every_bad_chain_or_option_gets_bad_request_and_4400(query, detail):
    comm = WebsocketCommunicator(application, f"/ws/echo/{RATE}/?{query}")
    connected, _ = await comm.connect()
    assert connected
    error = await comm.receive_json_from()
    assert error["code"] == "bad_request"
    assert detail in error["detail"]
    assert await expect_close(comm) == 4400
    await comm.disconnect()


async def test_configure_takes_effect_from_the_next_frame():
    block = np.full(1024, 0.25, dtype=np.float32)
    async with open_session(f"/ws/echo/{RATE}/?processor=gain") as (comm, _):
        await comm.send_to(bytes_data=block.tobytes())
        assert np.frombuffer(await comm.receive_from(), "<f4")[-1] == 0.25
        request = {"type": "configure", "id": "q1", "processor": "gain"}
        reply = await send_control(comm, {**request, "options": {"db": -6}})
        assert reply == {
            "type": "configured",
            "id": "q1",
            "processor": "gain",
            "options": {"db": -6.0},
        }
        for _ in range(2):  # the ramp is 20 ms (328 samples): settled in frame one
            await comm.send_to(bytes_data=block.tobytes())
            back = np.frombuffer(await comm.receive_from(), "<f4")
        assert back[0] == pytest.approx(0.25 * 10 ** (-6 / 20), rel=1e-6)


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        ({"processor": "gain", "options": {"db": 30}}, "gain.db is 30, out of range"),
        ({"processor": "delay", "options": {"mix": 1}}, "'delay' is not in this"),
        ({"processor": "gain", "options": {"db": "-6"}}, "gain.db is '-6', not a"),
        ({"processor": "gain", "options": {"db": 10**400}}, "gain.db is 1000000000"),
        ({"processor": "gain", "options": {"wet": 1}}, "gain has no option 'wet'"),
        ({"processor": "gain"}, "configure needs processor"),
        ({"processor": "gain", "options": [1]}, "configure needs processor"),
    ],
)
async def test_a_bad_configure_is_a_bad_message_and_the_session_keeps_its_values(
    message, detail
):
    async with open_session(f"/ws/echo/{RATE}/?processor=gain&gain.db=-3") as (
        comm,
        _,
    ):
        error = await send_control(comm, {"type": "configure", "id": 5, **message})
        assert error["code"] == "bad_message"
        assert error["id"] == 5
        assert detail in error["detail"]
        stats = await send_control(comm, {"type": "stats"})
        assert stats["errors"] == 1
        reply = await send_control(
            comm, {"type": "configure", "processor": "gain", "options": {}}
        )
        assert reply == {
            "type": "configured",
            "id": None,
            "processor": "gain",
            "options": {"db": -3.0},
        }


async def test_analysis_messages_follow_the_reply_of_the_frame_they_fell_due_in():
    path = f"/ws/echo/{RATE}/?processor=analysis&analysis.hop=2048"
    async with open_session(path) as (comm, _):
        for index, block in enumerate(frames(TONE, 1024)):
            await comm.send_to(bytes_data=block.tobytes())
            assert await comm.receive_from() == block.tobytes()
            if index % 2 == 1:  # every second frame of 1024 completes a hop
                report = await comm.receive_json_from()
                assert report["type"] == "analysis"
                assert (report["frame"], report["processor"]) == (index, "analysis")
                if index >= 3:
                    assert report["dominant_hz"] == pytest.approx(440, abs=1)
                    assert report["rms_dbfs"] == pytest.approx(-12.04, abs=0.1)
        assert await comm.receive_nothing()


async def test_api_info_lists_every_processor_with_its_options_schema():
    response = await AsyncClient().get("/api/info/")
    info = response.json()
    assert [p["name"] for p in info["processors"]] == list(PROCESSORS)
    assert info["max_chain_length"] == 8
    gain = next(p for p in info["processors"] if p["name"] == "gain")
    assert gain == {
        "name": "gain",
        "description": "raises or lowers the level",
        "category": "basic",
        "identity": False,
        "heavy": False,
        "cost_per_second": {},
        "options": [
            {
                "name": "db",
                "type": "float",
                "default": 0.0,
                "description": "level change",
                "unit": "dB",
                "min": -60,
                "max": 24,
            }
        ],
    }
    assert "configure" in info["accepts"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_sync_thread_connections")
async def test_the_record_keeps_the_chain_with_its_latest_options(flusher):
    path = f"/ws/echo/{RATE}/?{CHAIN_QUERY}"
    async with open_session(path) as (comm, ready):
        await comm.send_to(bytes_data=TONE[:1024].tobytes())
        await comm.receive_from()
        await send_control(
            comm, {"type": "configure", "processor": "gain", "options": {"db": -12}}
        )
    await flusher.flush()
    record = await SessionRecord.objects.aget(uuid=ready["session"])
    assert record.processor == CHAIN
    assert [stage["name"] for stage in record.chain] == CHAIN.split(",")
    assert record.chain[2] == {"name": "gain", "options": {"db": -12.0}}
    assert record.chain[0]["options"] == {"cutoff_hz": 300.0, "order": 4}


class _LongNamed(Echo):
    """Eight of these make the longest chain a client can write: 263 characters."""


LONG_NAMES = [
    type(f"Long{index}", (_LongNamed,), {"name": chr(ord("a") + index) + "x" * 31})
    for index in range(8)
]
globals().update({cls.__name__: cls for cls in LONG_NAMES})  # for their dotted paths


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_sync_thread_connections")
async def test_the_longest_chain_fits_the_record(flusher, settings):
    settings.WSAUDIO_PROCESSORS = [f"{__name__}.{cls.__name__}" for cls in LONG_NAMES]
    chain = ",".join(cls.name for cls in LONG_NAMES)
    assert len(chain) == 263
    async with open_session(f"/ws/echo/{RATE}/?processor={chain}") as (comm, ready):
        await comm.send_to(bytes_data=TONE[:1024].tobytes())
        assert await comm.receive_from() == TONE[:1024].tobytes()
    await flusher.flush()
    assert flusher.failing is False
    record = await SessionRecord.objects.aget(uuid=ready["session"])
    assert record.processor == chain
