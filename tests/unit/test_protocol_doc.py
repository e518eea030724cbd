"""docs/protocol.md and echo/protocol.py name the same codes."""

import re
from pathlib import Path

from echo.protocol import CONTROL_TYPES, QUERY_KEYS, CloseCode, ErrorCode

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()


def table_keys(heading: str) -> list[str]:
    """First-column values of the table under ``heading``."""
    section = DOC.split(f"### {heading}\n", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `?([^|`]+?)`? \|", section, flags=re.MULTILINE)
    return [row for row in rows if row not in ("code", "request")]


def test_every_close_code_is_documented_and_no_other():
    assert table_keys("Close codes") == [str(int(code)) for code in CloseCode]


def test_every_error_code_is_documented_and_no_other():
    assert table_keys("Errors") == [str(code) for code in ErrorCode]


def test_documented_control_messages_are_the_accepted_ones():
    documented = re.findall(r'^\| `\{"type": "(\w+)"', DOC, flags=re.MULTILINE)
    assert tuple(documented) == CONTROL_TYPES


def test_the_documented_query_keys_are_the_parsed_ones():
    assert f"only the keys `{QUERY_KEYS[0]}` and `{QUERY_KEYS[1]}`" in DOC
