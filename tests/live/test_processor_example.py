"""The processor that docs/processors.md shows, installed in a real server through
WSAUDIO_PROCESSORS, does on the wire what the same class does in this process."""

import importlib.util
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import websockets

from echo.processors import Processor
from tests.conftest import sine

from .server import ROOT
from .wire import WAIT, info, ready

pytestmark = pytest.mark.live

RATE = 16384
DOC = ROOT / "docs" / "processors.md"
MODULE = "processor_doc_example"
# Frame lengths a client may send, 1 sample included: the replies must not care.
FRAME_LENGTHS = (1024, 1, 333, 2048, 7, 1024)


def example_source() -> str:
    """The one python block of the doc."""
    blocks = re.findall(r"^```python\n(.*?)^```$", DOC.read_text(), re.S | re.M)
    assert len(blocks) == 1, "docs/processors.md should hold one python block"
    return blocks[0]


def example_class(folder: Path) -> type[Processor]:
    """The module written to ``folder`` and imported here, and its one processor."""
    path = folder / f"{MODULE}.py"
    path.write_text(example_source())
    spec = importlib.util.spec_from_file_location(MODULE, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (cls,) = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Processor)
        and value.__module__ == MODULE
    ]
    return cls


def between(low: float, high: float, kind: str) -> float | int:
    """A value strictly inside (low, high) where there is room, of the option's kind."""
    value = (low + high) / 2
    return round(value) if kind == "int" else value


def query_values(cls: type[Processor]) -> dict[str, float | int]:
    """A value above the default for each number option: what the URL sets."""
    values = {}
    for option in cls.options:
        low, high = option.bounds(RATE)
        if option.kind in ("float", "int") and high is not None:
            values[option.name] = between(option.default_at(RATE), high, option.kind)
    return values


def configure_values(cls: type[Processor]) -> dict[str, float | int]:
    """A value below the default for each number option: what configure sets."""
    values = {}
    for option in cls.options:
        low, _ = option.bounds(RATE)
        if option.kind in ("float", "int") and low is not None:
            values[option.name] = between(low, option.default_at(RATE), option.kind)
    return values


def signal_frames() -> list[bytes]:
    samples = sine(RATE, 1.0, 440)
    out, start = [], 0
    for length in FRAME_LENGTHS * 3:
        out.append(samples[start : start + length].astype("<f4").tobytes())
        start += length
    return out


def expected(local: Processor, data: bytes) -> bytes:
    """The reply the server should send: the class run here, on a read-only view
    of the same bytes, as the server runs it."""
    block = np.frombuffer(data, dtype="<f4")
    return np.asarray(local.process(block), dtype="<f4").tobytes()


async def exchange(ws, sent: list[bytes]) -> list[bytes]:
    for data in sent:
        await ws.send(data)
    return [await ws.recv() for _ in sent]


async def test_the_documented_example_runs_in_a_real_server_as_it_runs_here(
    start_server, tmp_path
):
    folder = tmp_path / "example"
    folder.mkdir()
    cls = example_class(folder)
    name = cls.name
    python_path = os.pathsep.join(
        filter(None, [str(folder), str(ROOT), os.environ.get("PYTHONPATH")])
    )
    server = start_server(
        PYTHONPATH=python_path, WSAUDIO_PROCESSORS=f"{MODULE}.{cls.__name__}"
    )

    listed = {entry["name"]: entry for entry in info(server)["processors"]}
    assert listed[name] == json.loads(json.dumps(cls.schema()))
    assert listed[name]["options"], "the example should declare options"

    given = query_values(cls)
    assert given, "the example should have a number option to set"
    options = "&".join(f"{name}.{key}={value:g}" for key, value in given.items())
    local = cls(RATE, **{**cls.defaults(RATE), **given})
    url = f"{server.ws_url}/ws/echo/{RATE}/?processor={name}&{options}"
    async with websockets.connect(url, open_timeout=WAIT) as ws:
        announced = (await ready(ws))["chain"]
        assert announced == [
            {"name": name, "options": local.values, **local.announce()}
        ]

        sent = signal_frames()
        replies = await exchange(ws, sent)
        assert replies == [expected(local, data) for data in sent]
        if not cls.identity:
            assert replies != sent, "the example should change the audio"

        changes = configure_values(cls)
        request = {"type": "configure", "id": 1, "processor": name, "options": changes}
        await ws.send(json.dumps(request))
        configured = json.loads(await ws.recv())
        local.configure(changes)
        assert configured == {
            "type": "configured",
            "id": 1,
            "processor": name,
            "options": local.values,
        }
        assert {key: local.values[key] for key in changes} == changes

        later = signal_frames()
        replies = await exchange(ws, later)
        assert replies == [expected(local, data) for data in later]
