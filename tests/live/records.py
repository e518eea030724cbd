"""A live server's session records, read straight from its database."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from contextlib import closing

import psycopg
from psycopg.rows import dict_row

from .server import LiveServer, is_postgres

TABLE = "echo_sessionrecord"


def records(server: LiveServer) -> dict[str, dict]:
    """Every record the server has written, by session uuid (as in ``ready``)."""
    url = server.env["DATABASE_URL"]
    query = f"SELECT * FROM {TABLE}"
    if is_postgres(url):
        with psycopg.connect(url, row_factory=dict_row) as db:
            rows = db.execute(query).fetchall()
    else:
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
            db.row_factory = sqlite3.Row
            rows = [dict(row) for row in db.execute(query)]
    return {str(row["uuid"]).replace("-", ""): row for row in rows}


async def ended_records(
    server: LiveServer, *sessions: str, within: float = 15.0
) -> list[dict]:
    """The records of ``sessions`` once each has its end written, in that order."""
    wanted = [session.replace("-", "") for session in sessions]
    deadline = time.monotonic() + within
    while True:
        found = records(server)
        rows = [found.get(uuid) for uuid in wanted]
        if all(row is not None and row["ended_at"] is not None for row in rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"records not ended after {within} s: {rows}")
        await asyncio.sleep(0.1)
