"""Stop early, with directions, when a service the tests need does not answer.

Usage: require_services.py NAME=URL ...   e.g. postgres=postgres://user@host:5432/db

Exits 1 when any of them is missing. A new service is a check function and an
entry in SERVICES.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from typing import NamedTuple

TIMEOUT = 3  # seconds per connection attempt


class Service(NamedTuple):
    title: str
    check: Callable[[str], None]  # raises when nothing usable answers at the URL
    hint: str  # how to get it answering


def check_postgres(url: str) -> None:
    import psycopg

    psycopg.connect(url, connect_timeout=TIMEOUT).close()


SERVICES = {
    "postgres": Service(
        "PostgreSQL",
        check_postgres,
        "Start it (Debian):\n"
        "  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
        "or point TEST_POSTGRES_URL at a PostgreSQL you can use:\n"
        "  make test TEST_POSTGRES_URL=postgres://USER@HOST:PORT/DATABASE",
    ),
}


def main(args: list[str]) -> int:
    missing = 0
    for arg in args:
        name, _, url = arg.partition("=")
        service = SERVICES[name]
        try:
            service.check(url)
        except Exception as error:
            reason = textwrap.indent(str(error).strip(), "  ")
            print(
                f"The tests need {service.title} at {url}, which failed:\n"
                f"{reason}\n{service.hint}\n",
                file=sys.stderr,
            )
            missing += 1
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
