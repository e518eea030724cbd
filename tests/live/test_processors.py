"""Chains, options, configure and analysis on a real server, as clients see them."""

import asyncio
import json

import numpy as np
import pytest
import websockets

from echo.processors import PROCESSORS, Chain
from echo.protocol import F32, S16, decode_frame, encode_frame
from tests.chain_cases import BAD_QUERIES, CHAIN, CHAIN_OPTIONS, CHAIN_QUERY
from tests.conftest import frames, sine

from .records import ended_records
from .wire import WAIT, closing_error, info, ready

pytestmark = pytest.mark.live

RATE = 16384
NOISE = np.random.default_rng(21).uniform(-0.5, 0.5, RATE).astype(np.float32)


async def replies(ws, blocks, fmt) -> list[bytes]:
    """Send every frame at once, then read one binary reply per frame."""
    for block in blocks:
        await ws.send(encode_frame(block, fmt))
    received = []
    while len(received) < len(blocks):
        message = await asyncio.wait_for(ws.recv(), WAIT)
        if isinstance(message, bytes):
            received.append(message)
    return received


@pytest.mark.parametrize("fmt", [F32, S16], ids=["f32", "s16"])
async def test_a_chain_answers_what_its_stages_do_one_after_another(echo_server, fmt):
    names = CHAIN.split(",")
    stages = [Chain.build(PROCESSORS, [name], CHAIN_OPTIONS, RATE) for name in names]
    blocks = frames(NOISE, 512)
    expected = []
    for block in blocks:
        samples = decode_frame(encode_frame(block, fmt), fmt)
        for stage in stages:
            samples = stage.process(samples)
        expected.append(encode_frame(samples, fmt))
    url = f"{echo_server.ws_url}/ws/echo/{RATE}/?format={fmt.name}&{CHAIN_QUERY}"
    async with websockets.connect(url) as ws:
        session = await ready(ws)
        assert [stage["name"] for stage in session["chain"]] == names
        assert session["chain"][2]["options"] == {"db": -6.0}
        assert await replies(ws, blocks, fmt) == expected


@pytest.mark.parametrize(("query", "detail"), BAD_QUERIES)
async def test_every_bad_chain_or_option_is_refused_with_4400(
    echo_server, query, detail
):
    error, code = await closing_error(f"{echo_server.ws_url}/ws/echo/{RATE}/?{query}")
    assert (error["code"], code) == ("bad_request", 4400)
    assert detail in error["detail"]


async def test_configure_changes_the_sound_live_and_a_bad_one_leaves_it(echo_server):
    level = np.full(2048, 0.5, dtype=np.float32)
    url = f"{echo_server.ws_url}/ws/echo/{RATE}/?processor=gain&gain.db=-6"
    async with websockets.connect(url) as ws:
        await ready(ws)
        (back,) = await replies(ws, [level], F32)
        assert np.frombuffer(back, "<f4")[-1] == pytest.approx(0.5 * 10 ** (-6 / 20))
        await ws.send(json.dumps({"type": "configure", "id": 1, "processor": "gain"}))
        error = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert (error["code"], error["id"]) == ("bad_message", 1)
        request = {"type": "configure", "id": 2, "processor": "gain"}
        await ws.send(json.dumps({**request, "options": {"db": 0}}))
        configured = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert configured == {
            "type": "configured",
            "id": 2,
            "processor": "gain",
            "options": {"db": 0.0},
        }
        (back,) = await replies(ws, [level], F32)
        assert np.frombuffer(back, "<f4")[-1] == 0.5  # past the 20 ms ramp


async def test_analysis_reports_a_tone_after_the_replies(echo_server):
    tone = sine(RATE, 1.0, 1000, amplitude=0.5)
    url = f"{echo_server.ws_url}/ws/echo/{RATE}/?processor=analysis&analysis.bands=4"
    async with websockets.connect(url) as ws:
        session = await ready(ws)
        edges = session["chain"][0]["band_edges_hz"]
        assert len(edges) == 5 and edges[-1] == RATE / 2
        blocks = frames(tone, 2048)
        for block in blocks:
            await ws.send(block.tobytes())
        messages = [await asyncio.wait_for(ws.recv(), WAIT) for _ in range(16)]
    kinds = [
        "reply" if isinstance(m, bytes) else json.loads(m)["type"] for m in messages
    ]
    assert kinds == ["reply", "analysis", "analysis"] * 5 + ["reply"]
    report = json.loads(messages[-2])
    assert report["frame"] == 4 and report["processor"] == "analysis"
    assert report["dominant_hz"] == pytest.approx(1000, abs=1)
    assert report["peak_dbfs"] == pytest.approx(-6.02, abs=0.1)
    assert len(report["bands"]) == 4


async def test_api_info_lists_every_processor_with_its_options(echo_server):
    described = {p["name"]: p for p in info(echo_server)["processors"]}
    assert list(described) == list(PROCESSORS)
    reverb = {option["name"]: option for option in described["reverb"]["options"]}
    assert reverb["room_size"]["default"] == 0.5
    assert (reverb["room_size"]["min"], reverb["room_size"]["max"]) == (0, 1)
    assert described["analysis"]["identity"] is True


@pytest.mark.database
async def test_the_record_holds_the_chain_and_its_latest_options(echo_server):
    url = f"{echo_server.ws_url}/ws/echo/{RATE}/?{CHAIN_QUERY}"
    async with websockets.connect(url) as ws:
        session = await ready(ws)
        await replies(ws, frames(NOISE[:2048], 1024), F32)
        request = {"type": "configure", "processor": "highpass"}
        await ws.send(json.dumps({**request, "options": {"cutoff_hz": 150}}))
        await asyncio.wait_for(ws.recv(), WAIT)
    (record,) = await ended_records(echo_server, session["session"])
    assert record["processor"] == CHAIN
    chain = record["chain"]
    chain = json.loads(chain) if isinstance(chain, str) else chain
    assert chain[0] == {"name": "highpass", "options": {"cutoff_hz": 150.0, "order": 4}}
    assert chain[2] == {"name": "gain", "options": {"db": -6.0}}
