"""The client asks for chains and options as the server reads them, knows from
``ready`` which chains give every frame back unchanged, and prints what analysis
processors report."""

from urllib.parse import urlsplit

import pytest

from echo import protocol
from echo.processors import BUILTINS, PROCESSORS
from echo.sessions.session import AudioSession
from wsaudio_client import Stage, wire
from wsaudio_client.__main__ import main
from wsaudio_client.loadtest import LoadTest
from wsaudio_client.report import echo_tables
from wsaudio_client.tagging import FrameTagger, InOrderTagger

from ..chain_cases import CHAIN, CHAIN_OPTIONS


def server_reads(url: str, processors=PROCESSORS) -> protocol.SessionParams:
    """The session parameters the server takes from a URL the client built."""
    parts = urlsplit(url)
    return protocol.parse_session_params(
        parts.path.split("/")[3],
        parts.query.encode("ascii"),
        min_rate=8000,
        max_rate=48000,
        processors=processors,
    )


def ready_for(query: bytes) -> wire.Ready:
    """The client's reading of the ready a real session sends for ``query``."""
    session = AudioSession.open(protocol.ServerConfig(), "16384", query, now=0.0)
    return wire.Ready.from_message(session.ready())


# --- the URL ------------------------------------------------------------------------


def test_a_chain_and_its_options_reach_the_server_as_given():
    url = wire.session_url(
        "ws://h",
        16384,
        processor=CHAIN,
        options={"gain.db": "-6", "highpass.cutoff_hz": 300},
    )
    params = server_reads(url)
    assert params.processor == CHAIN
    assert params.chain == ("highpass", "compressor", "gain")
    assert params.option_texts == CHAIN_OPTIONS


@pytest.mark.parametrize(
    ("value", "text"),
    [(-6, "-6"), (-6.5, "-6.5"), (1e-3, "0.001"), (True, "true"), (False, "false")],
)
def test_python_values_are_written_as_the_query_writes_them(value, text):
    url = wire.session_url("ws://h", 8000, processor="x", options={"x.y": value})
    assert server_reads(url, processors={"x"}).option_texts == {"x": {"y": text}}


@pytest.mark.parametrize("key", ["format", "gain", "Gain.db", "gain.db.x", ".db"])
def test_a_key_that_is_not_processor_dot_option_is_refused(key):
    with pytest.raises(ValueError, match="is not <processor>.<option>"):
        wire.session_url("ws://h", 8000, options={key: 1})


def test_a_value_that_is_not_finite_is_refused():
    with pytest.raises(ValueError, match="finite"):
        wire.session_url("ws://h", 8000, options={"gain.db": float("-inf")})


def test_the_option_key_pattern_is_the_servers():
    assert wire.OPTION_KEY.pattern == protocol._OPTION_KEY.pattern


# --- ready and identities -----------------------------------------------------------


def test_the_identities_are_the_built_ins_whose_audio_comes_back_unchanged():
    assert wire.IDENTITY_PROCESSORS == {cls.name for cls in BUILTINS if cls.identity}


def test_ready_gives_each_processor_of_the_chain_with_every_value():
    ready = ready_for(b"processor=gain,analysis&gain.db=-6&analysis.bands=2")
    assert ready.processor == "gain,analysis"
    assert ready.chain == (
        Stage("gain", {"db": -6.0}),
        Stage(
            "analysis",
            {"window": 2048, "hop": 1024, "bands": 2},
            {"band_edges_hz": [20.0, 404.772, 8192.0]},  # log-spaced: √(20 × 8192)
        ),
    )
    assert "configure" in ready.accepts


@pytest.mark.parametrize(
    ("query", "identity"),
    [
        (b"", True),
        (b"processor=echo", True),
        (b"processor=analysis", True),
        (b"processor=echo,analysis", True),
        (b"processor=gain", False),
        (b"processor=analysis,gain&gain.db=0", False),  # 0 dB still converts
    ],
)
def test_replies_are_compared_only_for_chains_of_identities(query, identity):
    assert ready_for(query).identity is identity


def test_a_ready_without_a_chain_takes_its_processor_for_one():
    message = {
        "type": "ready",
        "protocol": 1,
        "session": "s",
        "rate": 8000,
        "format": "f32",
        "processor": "echo",
        "max_frame_samples": 8000,
    }
    ready = wire.Ready.from_message(message)
    assert ready.chain == (Stage("echo", {}),)
    assert ready.identity


# --- the commands -------------------------------------------------------------------


@pytest.mark.parametrize("option", ["gain", "gain.db", "db=-6", "Gain.db=-6"])
def test_an_option_that_is_not_name_dot_option_equals_value_is_a_usage_error(
    option, tmp_path, capsys
):
    with pytest.raises(SystemExit) as usage:
        main(["echo", str(tmp_path / "in.wav"), "--option", option])
    assert usage.value.code == 2
    assert "is not NAME.OPTION=VALUE" in capsys.readouterr().err


def test_the_load_test_takes_any_chain():
    for chain in ("echo,analysis", "analysis,gain", "denoise"):
        LoadTest(server="ws://127.0.0.1:1", processor=chain).validate()


def test_replies_to_a_chain_that_changes_the_audio_are_taken_in_order_by_size():
    tagger = InOrderTagger(3, 1024, "f32")
    changed = bytes(len(tagger.frame(0)))  # the audio (and its tag) changed
    assert [tagger.sequence_of(changed) for _ in range(3)] == [0, 1, 2]
    assert tagger.sequence_of(changed[:-4]) is None  # the wrong size: a mismatch
    assert FrameTagger(3, 1024, "f32").sequence_of(changed) is None


def summary(**changes) -> dict:
    return {
        "server": "ws://h",
        "session": "s",
        "rate": 16384,
        "format": "f32",
        "processor": "highpass,gain",
        "chain": [
            {"name": "highpass", "options": {"cutoff_hz": 300.0, "order": 2}},
            {"name": "gain", "options": {"db": -6.0}},
        ],
        "input": {"path": "in.wav"},
        "output": None,
        "elapsed_s": 1.0,
        "frames": {"sent": 1, "received": 1, "lost": 0, "refused": 0, "mismatched": 0},
        "rtt_ms": {"p50": 1.0},
        "server_stats": {},
        "analysis": [],
    } | changes


def cells(table) -> list[list[str]]:
    """The table's rows, as the text of each cell."""
    columns = [list(column.cells) for column in table.columns]
    return [list(row) for row in zip(*columns, strict=True)]


def test_the_chain_is_printed_with_every_option_value():
    session = echo_tables(summary())[0]
    assert ["chain", "highpass (cutoff_hz=300.0, order=2) → gain (db=-6.0)"] in cells(
        session
    )


def test_each_analysis_message_is_a_row_of_its_own():
    reports = [
        {
            "frame": 0,
            "processor": "analysis",
            "peak_dbfs": -6.0206,
            "rms_dbfs": -9.031,
            "dominant_hz": 440.01,
            "bands": [-120.0, -9.03],
        },
        {
            "frame": 2,
            "processor": "analysis",
            "peak_dbfs": -6.0,
            "rms_dbfs": -6.0,
            "dominant_hz": 0.0,
        },
    ]
    tables = echo_tables(summary(analysis=reports))
    assert len(tables) == 4
    assert [column.header for column in tables[3].columns] == [
        "frame",
        "processor",
        "peak_dbfs",
        "rms_dbfs",
        "dominant_hz",
        "bands",
    ]
    assert cells(tables[3]) == [
        ["0", "analysis", "-6.02", "-9.03", "440.01", "-120.00 -9.03"],
        ["2", "analysis", "-6.00", "-6.00", "0.00", "-"],
    ]


def test_without_analysis_there_is_no_analysis_table():
    assert len(echo_tables(summary())) == 3
