"""Stop early, with directions, when a service the tests need does not answer.

Usage: require_services.py NAME[=WHERE] ...
  e.g. postgres=postgres://user@host:5432/db postgres-server chromium espeak-ng node

Exits 1 when any of them is missing. A new service is a check function and an
entry in SERVICES; WHERE defaults to the entry's ``default``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import NamedTuple

try:
    from scripts.private_postgres import server_bin
except ImportError:  # run as a script: scripts/ itself is on the path
    from private_postgres import server_bin

TIMEOUT = 3  # seconds per connection attempt
CHROMIUM = "/usr/bin/chromium"  # Debian's package; WSAUDIO_CHROMIUM names another
MIN_NODE = 18  # the first major version whose `node --test` runs the JS tests
# Starting Chromium once can take seconds on a busy machine.
VERSION_TIMEOUT = 30


class Service(NamedTuple):
    title: str
    check: Callable[[str], None]  # raises when nothing usable answers at WHERE
    hint: str  # how to get it answering
    default: Callable[[], str] = str  # gives WHERE when the argument has none ("")


def check_postgres(url: str) -> None:
    import psycopg

    psycopg.connect(url, connect_timeout=TIMEOUT).close()


def check_postgres_server(name: str) -> None:
    server_bin()  # raises, saying how to install it, when there is none


def chromium_executable() -> str:
    """The Chromium the browser tests launch: $WSAUDIO_CHROMIUM, else Debian's."""
    return os.environ.get("WSAUDIO_CHROMIUM") or CHROMIUM


def check_chromium(path: str) -> None:
    if not os.access(path, os.X_OK) or os.path.isdir(path):
        raise FileNotFoundError(f"{path} is not an executable file")
    subprocess.run(
        [path, "--version"], check=True, capture_output=True, timeout=VERSION_TIMEOUT
    )


def check_node(command: str) -> None:
    if shutil.which(command) is None:
        raise FileNotFoundError(f"{command} is not an executable on PATH")
    version = subprocess.run(
        [command, "--version"],
        check=True,
        capture_output=True,
        text=True,
        timeout=VERSION_TIMEOUT,
    ).stdout.strip()
    match = re.fullmatch(r"v(\d+)\.\d+\.\d+", version)
    if match is None or int(match.group(1)) < MIN_NODE:
        raise ValueError(
            f"{command} --version says {version[:40]!r}; the tests need v{MIN_NODE}+"
        )


def check_espeak(program: str) -> None:
    if shutil.which(program) is None:
        raise FileNotFoundError(f"{program} is not on the PATH")
    subprocess.run(
        [program, "--version"], check=True, capture_output=True, timeout=TIMEOUT
    )


SERVICES = {
    "postgres": Service(
        "PostgreSQL",
        check_postgres,
        "Start it (Debian):\n"
        "  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
        "or point TEST_POSTGRES_URL at a PostgreSQL you can use:\n"
        "  make test TEST_POSTGRES_URL=postgres://USER@HOST:PORT/DATABASE",
    ),
    "postgres-server": Service(
        "PostgreSQL's server programs (for the private cluster of the PostgreSQL pass)",
        check_postgres_server,
        "Install them (Debian):\n"
        "  apt-get install postgresql\n"
        "or point TEST_POSTGRES_URL at a PostgreSQL you can use:\n"
        "  make test TEST_POSTGRES_URL=postgres://USER@HOST:PORT/DATABASE",
        lambda: "initdb",
    ),
    "chromium": Service(
        "Chromium (for tests/browser)",
        check_chromium,
        "Install it (Debian):\n"
        "  apt-get install chromium\n"
        "or point WSAUDIO_CHROMIUM at a Chromium or Chrome you can use.",
        chromium_executable,
    ),
    "espeak-ng": Service(
        "espeak-ng (speech for the voice processors' tests)",
        check_espeak,
        "Install it (Debian):\n  apt-get install espeak-ng",
        lambda: "espeak-ng",
    ),
    "node": Service(
        f"Node.js {MIN_NODE} or later (for tests/js)",
        check_node,
        "Install it (Debian):\n  apt-get install nodejs",
        lambda: "node",
    ),
}


def main(args: list[str]) -> int:
    missing = 0
    for arg in args:
        name, _, where = arg.partition("=")
        service = SERVICES[name]
        where = where or service.default()
        try:
            service.check(where)
        except Exception as error:
            reason = textwrap.indent(str(error).strip(), "  ")
            print(
                f"The tests need {service.title} at {where}, which failed:\n"
                f"{reason}\n{service.hint}\n",
                file=sys.stderr,
            )
            missing += 1
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
