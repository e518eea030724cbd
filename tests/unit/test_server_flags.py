"""Every documented way to start the server passes the protocol's message cap."""

import re
from pathlib import Path

from echo.protocol import MAX_MESSAGE_BYTES
from tests.live.server import DAPHNE_FLAGS

ROOT = Path(__file__).resolve().parents[2]
CAP_FLAGS = (
    f"--websocket-max-message-size {MAX_MESSAGE_BYTES} "
    f"--websocket-max-frame-size {MAX_MESSAGE_BYTES}"
)


def documented_daphne_command(path: str) -> str:
    """The daphne command in a shell block of ``path``, continuation lines joined."""
    text = (ROOT / path).read_text().replace("\\\n", " ")
    (command,) = re.findall(r"^daphne .*$", text, flags=re.MULTILINE)
    return " ".join(command.split())


def test_make_run_passes_the_flags_the_live_tests_use():
    makefile = (ROOT / "Makefile").read_text()
    (flags,) = re.findall(r"^DAPHNE_FLAGS := (.*)$", makefile, flags=re.MULTILINE)
    assert flags.split() == DAPHNE_FLAGS
    assert "$(BIN)/daphne $(DAPHNE_FLAGS)" in makefile
    assert CAP_FLAGS in " ".join(DAPHNE_FLAGS)


def test_the_documented_commands_pass_the_cap_and_no_lifetime_limit():
    for path in ("README.md", "docs/protocol.md"):
        command = documented_daphne_command(path)
        assert command.startswith(f"daphne {' '.join(DAPHNE_FLAGS)} "), path
        text = (ROOT / path).read_text()
        assert f"--ws-max-size {MAX_MESSAGE_BYTES}" in text, path
