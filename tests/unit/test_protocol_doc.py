"""docs/protocol.md and echo/protocol.py name the same codes and messages."""

import re
from pathlib import Path

from echo.processors.options import KINDS
from echo.protocol import (
    CLIENT_STATS_FIELDS,
    CONTROL_TYPES,
    F32,
    MAX_CHAIN_LENGTH,
    QUERY_KEYS,
    CloseCode,
    ErrorCode,
    ProtocolError,
    ServerConfig,
    SessionParams,
    ready_message,
)
from echo.sessions.stats import SessionStats

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()


def codes_table() -> list[tuple[str, str]]:
    """(error code, close code) of each row of the codes table; '-' where none."""
    section = DOC.split("## Errors and close codes\n", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `?([\w–]+)`? \| ([\d–]+) \|", section, flags=re.MULTILINE)
    return [(error.replace("–", "-"), close.replace("–", "-")) for error, close in rows]


def close_after(code: ErrorCode) -> str:
    close = ProtocolError(code, "").close_code
    return "-" if close is None else str(int(close))


def test_every_error_code_is_documented_with_the_close_that_follows_it():
    documented = {error: close for error, close in codes_table() if error != "-"}
    assert documented == {str(code): close_after(code) for code in ErrorCode}


def test_every_close_code_is_documented_and_no_other():
    closes = {close for _, close in codes_table() if close != "-"}
    assert closes == {str(int(code)) for code in CloseCode}


def test_documented_control_messages_are_the_accepted_ones():
    documented = re.findall(r'^\| `\{"type": "(\w+)"', DOC, flags=re.MULTILINE)
    assert tuple(documented) == CONTROL_TYPES


def test_the_documented_query_keys_are_the_parsed_ones():
    assert f"only the keys `{QUERY_KEYS[0]}` and `{QUERY_KEYS[1]}`" in DOC


def first_column(section_heading: str) -> list[str]:
    """The backquoted names in the first column of the first table under a heading."""
    section = DOC.split(f"{section_heading}\n", 1)[1].split("\n#", 1)[0]
    table = section.split("\n|---", 1)[1].split("\n\n", 1)[0]
    cells = re.findall(r"^\| ([^|]+) \|", table, flags=re.MULTILINE)
    return [name for cell in cells for name in re.findall(r"`(\w+)`", cell)]


def test_the_documented_stats_fields_are_the_reported_ones():
    reported = SessionStats().snapshot()
    assert sorted(first_column("`stats` fields, counted from `ready`:")) == sorted(
        reported
    )


def test_the_documented_client_stats_members_are_the_kept_ones():
    documented = first_column("### `client_stats`")
    assert sorted(documented) == sorted(CLIENT_STATS_FIELDS)


def test_the_documented_chain_length_is_the_enforced_one():
    assert f"A chain holds at most {MAX_CHAIN_LENGTH} processors" in DOC


def test_every_option_type_is_documented_with_how_its_value_is_written():
    section = DOC.split("### Processors and options\n", 1)[1].split("\n#", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)
    assert tuple(documented) == KINDS


def test_the_documented_limits_are_the_announced_ones_with_their_defaults():
    documented = first_column("## Limits")
    assert sorted(documented) == sorted(["max_frame_samples", *ServerConfig().limits()])


def test_the_documented_ready_fields_are_the_sent_ones():
    documented = set(first_column("### `ready`"))
    ready = ready_message(
        session="s",
        params=SessionParams(16384, F32, "echo"),
        config=ServerConfig(),
        chain=[],
    )
    assert documented == set(ready) - {"type"}
