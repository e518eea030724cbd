"""The page's copy of protocol v1, static/echo/protocol.js, agrees with the server."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from echo import protocol

from ..live.server import ROOT

STATIC = ROOT / "static" / "echo"

# Prints the module's codes, and the wire bytes of the samples read from stdin.
DUMP = """
import * as wire from "./protocol.js";
import * as constants from "./constants.js";
let input = "";
for await (const chunk of process.stdin) input += chunk;
const samples = Float32Array.from(JSON.parse(input));
const hex = (bytes) => Buffer.from(bytes).toString("hex");
const formats = Object.keys(wire.SAMPLE_WIDTH);
const encode = (name) => wire.encodeFrame(samples, name);
const encoded = Object.fromEntries(formats.map((name) => [name, hex(encode(name))]));
const decoded = Object.fromEntries(formats.map(
  (name) => [name, hex(wire.decodeFrame(encode(name), name).buffer)]));
console.log(JSON.stringify({...wire, constants, encoded, decoded}));
"""


def run_module(samples: np.ndarray) -> dict:
    if shutil.which("node") is None:
        pytest.fail("node is not installed (Debian: apt-get install nodejs)")
    result = subprocess.run(
        ["node", "--input-type=module", "-e", DUMP],
        input=json.dumps([float(x) for x in samples]),
        cwd=STATIC,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


# Ties to even, clipping, both signs of zero, the edges of int16, and random audio.
EDGES = np.array(
    [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5 / 32768, 1.5 / 32768, -1.5 / 32768]
    + [2.5 / 32768, -2.5 / 32768, 32767.5 / 32768, -32768.5 / 32768, 1e-30],
    dtype=np.float32,
)
RANDOM = np.random.default_rng(7).uniform(-1.2, 1.2, 4000).astype(np.float32)
SAMPLES = np.concatenate([EDGES, RANDOM])


@pytest.fixture(scope="module")
def browser() -> dict:
    return run_module(SAMPLES)


def test_codes_and_constants_match_the_server(browser):
    assert browser["ErrorCode"] == {c.name: str(c) for c in protocol.ErrorCode}
    assert browser["CloseCode"] == {c.name: int(c) for c in protocol.CloseCode}
    assert browser["CLOSING_ERRORS"] == {
        str(e): int(c) for e, c in protocol._CLOSING_ERRORS.items()
    }
    assert browser["PROTOCOL_VERSION"] == protocol.PROTOCOL_VERSION
    assert browser["CONTROL_TYPES"] == list(protocol.CONTROL_TYPES)
    assert browser["SAMPLE_WIDTH"] == {
        name: fmt.dtype.itemsize for name, fmt in protocol.FORMATS.items()
    }
    assert browser["constants"]["DEFAULT_FORMAT"] == protocol.DEFAULT_FORMAT
    assert browser["constants"]["DEFAULT_PROCESSOR"] == protocol.DEFAULT_PROCESSOR
    default_rate = protocol.ServerConfig().default_rate
    assert browser["constants"]["TARGET_DOWNSAMPLE_RATE"] == default_rate


@pytest.mark.parametrize("name", ["f32", "s16"])
def test_the_page_encodes_exactly_as_the_server_does(browser, name):
    fmt = protocol.FORMATS[name]
    assert bytes.fromhex(browser["encoded"][name]) == protocol.encode_frame(
        SAMPLES, fmt
    )
    server_decoded = protocol.decode_frame(protocol.encode_frame(SAMPLES, fmt), fmt)
    assert bytes.fromhex(browser["decoded"][name]) == server_decoded.tobytes()
