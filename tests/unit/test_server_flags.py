"""Every documented way to start the server passes the protocol's message cap."""

import re
from pathlib import Path

from echo.protocol import MAX_MESSAGE_BYTES
from tests.live.server import DAPHNE_FLAGS, UVICORN_FLAGS

ROOT = Path(__file__).resolve().parents[2]
CAP_FLAGS = (
    f"--websocket-max-message-size {MAX_MESSAGE_BYTES} "
    f"--websocket-max-frame-size {MAX_MESSAGE_BYTES}"
)


def documented_command(path: str, server: str) -> str:
    """The ``server`` command in a shell block of ``path``, continuation lines
    joined."""
    text = (ROOT / path).read_text().replace("\\\n", " ")
    (command,) = re.findall(rf"^{server} .*$", text, flags=re.MULTILINE)
    return " ".join(command.split())


def test_make_run_passes_the_flags_the_live_tests_use():
    makefile = (ROOT / "Makefile").read_text()
    for server, flags in (("DAPHNE", DAPHNE_FLAGS), ("UVICORN", UVICORN_FLAGS)):
        (made,) = re.findall(rf"^{server}_FLAGS := (.*)$", makefile, flags=re.MULTILINE)
        assert made.split() == flags
        assert f"$(BIN)/{server.lower()} $({server}_FLAGS)" in makefile
    assert CAP_FLAGS in " ".join(DAPHNE_FLAGS)
    assert f"--ws-max-size {MAX_MESSAGE_BYTES}" in " ".join(UVICORN_FLAGS)


def test_the_documented_commands_pass_the_cap_and_no_lifetime_limit():
    for path in ("README.md", "docs/protocol.md"):
        command = documented_command(path, "daphne")
        assert command.startswith(f"daphne {' '.join(DAPHNE_FLAGS)} "), path
        command = documented_command(path, "uvicorn")
        assert command.startswith(f"uvicorn {' '.join(UVICORN_FLAGS)} "), path
