"""Measure how long the admin's list of session records takes with many records.

Run from the project root: ``.venv/bin/python bench/admin_page.py [--write]``
(``--no-postgres`` skips PostgreSQL); ``--write`` regenerates docs/admin-page.md
and docs/admin-page.json, and the page says what the run does. Each database and
size runs in a child process of this script (``--child``) on a new database.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

# bench/, echo/ and tests/ live at the project root, one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import (
    benchmark_databases,
    describe_environment,
    markdown_table,
    page_header,
    reflow,
)
from tests.live.server import temporary_database

ROOT = Path(__file__).resolve().parent.parent
DOC_PATH = ROOT / "docs" / "admin-page.md"
JSON_PATH = ROOT / "docs" / "admin-page.json"
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test"
SIZES = (10_000, 100_000)  # records; the larger is the one the reading is about
DAYS = 30  # the sample records spread over the last 30 days
WARMUP = 2  # requests before the timed ones: templates compiled, caches full
REPEATS = 15  # timed requests per page
CAPTURES = 5  # more requests per page whose queries are timed one by one
SLOW_MS = 300.0  # a page slower than this (median, largest size) gets EXPLAINed
LIST_URL = "/admin/echo/sessionrecord/"
SUMMARIZE = "summarize() alone"
CHILD_ENV = {
    "DJANGO_SECRET_KEY": "admin-page-bench-secret-key-not-for-deployment-0123456789",
    "DJANGO_DEBUG": "0",  # no query log: the timed requests run as in production
    "PYTHONUNBUFFERED": "1",
}


def pages(end: datetime) -> dict[str, str]:
    """Each page timed, as the query string of the list; the drill-down goes to the
    day a week before ``end`` (a whole day of records) and that day's month."""
    day = (end - timedelta(days=7)).date()
    month = f"started_at__year={day.year}&started_at__month={day.month}"
    return {
        "list": "",
        "filtered: format s16": "?format=s16",  # the sidebar's link
        "search: 203.0.113": "?q=203.0.113",  # a part: every record is read
        "search: 203.0.113.7": "?q=203.0.113.7",  # a whole address: its index
        "date hierarchy: month": f"?{month}",
        "date hierarchy: day": f"?{month}&started_at__day={day.day}",
    }


def query_label(sql: str) -> str:
    """What a query of the change list is for, from its SQL."""
    table = '"echo_sessionrecord"'
    if sql.startswith('SELECT "django_session"'):
        return "login session"
    if sql.startswith('SELECT "auth_user"'):
        return "user"
    if 'AS "datetimefield"' in sql:
        return "date hierarchy links"
    if 'MIN("echo_sessionrecord"."started_at")' in sql:
        return "date hierarchy range"
    if distinct := re.match(rf'SELECT DISTINCT {table}\."(\w+)"', sql):
        return f"filter choices: {distinct.group(1)}"
    if sql.startswith("SELECT COUNT(*)"):
        return "result count"
    if 'AS "running"' in sql:
        return "summary: totals"
    if 'AS "day"' in sql:
        return "summary: per day"
    if 'COUNT("echo_sessionrecord"."uuid") AS "sessions"' in sql:
        return "summary: errors"
    if percentile := re.match(rf'SELECT {table}\."(\w+)" AS .* LIMIT 1 OFFSET', sql):
        return f"summary: p95 {percentile.group(1)}"
    if sql.startswith(f'SELECT {table}."uuid", '):
        return "page of rows"
    return sql[:60]


def timed(call: Callable[[], object]) -> list[float]:
    """``call()`` WARMUP times untimed, then REPEATS times timed, in ms."""
    for _ in range(WARMUP):
        call()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - start))
    return times


def explain(sql: str) -> str:
    """The plan of one captured query: run, on PostgreSQL; SQLite's plan only."""
    from django.db import connection

    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"{prefix or 'EXPLAIN QUERY PLAN '}{sql}")
        rows = cursor.fetchall()
    if prefix:
        return "\n".join(row[0] for row in rows)
    return "\n".join(f"{row[1]:>3} {row[-1]}" for row in rows)  # id, parent, detail


def child(records: int) -> dict[str, Any]:
    """Everything one database of ``records`` records measures, on the database
    DATABASE_URL names: migrated, filled, then timed."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wsaudio_site.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from bench.sample_sessions import BATCH, sample_sessions
    from echo.models import SessionRecord
    from echo.records.reports import summarize

    call_command("migrate", verbosity=0)
    end = datetime.now(UTC)
    started = time.perf_counter()
    SessionRecord.objects.bulk_create(
        sample_sessions(records, days=DAYS, end=end), batch_size=BATCH
    )
    insert_s = time.perf_counter() - started
    if connection.vendor == "postgresql":
        # What autovacuum does soon after a bulk insert: statistics, visibility map.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE echo_sessionrecord")
    user = User.objects.create_superuser("bench", "bench@example.com", "unused")
    client = Client(SERVER_NAME="localhost")  # a host ALLOWED_HOSTS has
    client.force_login(user)

    results: dict[str, Any] = {}
    for name, query in pages(end).items():

        def get(url: str = LIST_URL + query) -> Any:
            response = client.get(url)
            assert response.status_code == 200, f"{url}: {response.status_code}"
            return response

        results[name] = {
            "url": LIST_URL + query,
            "selected": get().context_data["cl"].result_count,
            **figures(timed(get), captured(get)),
        }
    everything = SessionRecord.objects.all()
    results[SUMMARIZE] = {
        "url": "",
        "selected": records,
        **figures(
            timed(lambda: summarize(everything)),
            captured(lambda: summarize(everything)),
        ),
    }
    for result in results.values():
        slowest = result.pop("slowest_sql")
        if result["median_ms"] > SLOW_MS:
            result["slowest_sql"], result["slowest_plan"] = slowest, explain(slowest)
        for query in result["sql"]:
            del query["sql"]  # the labels say enough; the JSON stays readable
    return {
        "database": connection.vendor,
        "records": records,
        "insert_s": round(insert_s, 1),
        "pages": results,
    }


def captured(call: Callable[[], object]) -> list[list[dict[str, str]]]:
    """The queries of CAPTURES more calls, each call's in order, timed one by one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    runs = []
    for _ in range(CAPTURES):
        with CaptureQueriesContext(connection) as context:
            call()
        runs.append(context.captured_queries)
    assert len({len(run) for run in runs}) == 1, "the calls ran different queries"
    return runs


def figures(times: list[float], runs: list[list[dict[str, str]]]) -> dict[str, Any]:
    """Median and p90 of the timed requests; every query, labelled, with its median
    time over the captured ``runs``; and the slowest one's SQL."""
    sql = [
        {
            "label": query_label(query["sql"]),
            "ms": round(
                float(np.median([1000 * float(run[i]["time"]) for run in runs])), 1
            ),
            "sql": query["sql"],
        }
        for i, query in enumerate(runs[0])
    ]
    slowest = max(sql, key=lambda query: query["ms"], default={"sql": ""})
    return {
        "median_ms": round(float(np.median(times)), 1),
        "p90_ms": round(float(np.percentile(times, 90)), 1),
        "queries": len(sql),
        "sql_ms": round(sum(query["ms"] for query in sql), 1),
        "sql": sql,
        "slowest_sql": slowest["sql"],
    }


def run_child(records: int, workdir: Path) -> dict[str, Any]:
    """One child on a new database beside DATABASE_URL's (a SQLite file when that
    names no PostgreSQL), dropped afterwards."""
    workdir.mkdir()
    with temporary_database(workdir) as database_url:
        env = {
            **os.environ,
            **CHILD_ENV,
            "DATABASE_URL": database_url,
            "DJANGO_STATIC_ROOT": str(workdir),  # none are served; it must exist
        }
        done = subprocess.run(
            [sys.executable, __file__, "--child", "--records", str(records)],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
    return json.loads(done.stdout)


def cell(result: dict[str, Any]) -> str:
    return f"{result['median_ms']:.1f} / {result['p90_ms']:.1f}"


def title(run: dict[str, Any]) -> str:
    database = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[run["database"]]
    return f"{database} {run['records']:,}"


def times_table(runs: list[dict[str, Any]]) -> str:
    """Median / p90 ms of each page, one column per database and size."""
    rows = [
        [name, *(cell(run["pages"][name]) for run in runs)] for name in runs[0]["pages"]
    ]
    return markdown_table(["page", *(title(run) for run in runs)], rows)


def queries_table(runs: list[dict[str, Any]]) -> str:
    """Queries per page, the rows it selects, and where its SQL time goes."""
    rows = []
    for run in runs:
        for name, result in run["pages"].items():
            top = sorted(result["sql"], key=lambda query: -query["ms"])[:3]
            rows.append(
                [
                    title(run),
                    name,
                    "; ".join(f"{query['label']} {query['ms']:.0f}" for query in top),
                    f"{result['selected']:,}",
                    result["queries"],
                    f"{result['sql_ms']:.0f}",
                    f"{result['median_ms']:.0f}",
                ]
            )
    header = ["database", "page", "slowest queries (ms)", "rows selected"]
    header += ["queries", "SQL ms", "page ms"]
    return markdown_table(header, rows, text_columns=3)


def plans(runs: list[dict[str, Any]]) -> str:
    """The plan of the slowest query of each slow page, each plan shape once."""
    sections, seen = [], set()
    for run in runs:
        for name, result in run["pages"].items():
            if not (plan := result.get("slowest_plan")):
                continue
            shape = (run["database"], re.sub(r"[\d.]+", "#", plan))
            if shape in seen:
                continue
            seen.add(shape)
            slowest = max(result["sql"], key=lambda query: query["ms"])
            sections.append(
                f"**{title(run)}, {name}** ({result['median_ms']:.0f} ms): its"
                f" slowest query, {slowest['label']} ({slowest['ms']:.0f} ms of the"
                f" page's {result['sql_ms']:.0f} ms of SQL):\n\n"
                f"```sql\n{shortened(result['slowest_sql'])}\n```\n\n```\n{plan}\n```"
            )
    return "\n\n".join(sections) or f"No page took over {SLOW_MS:g} ms."


def shortened(sql: str) -> str:
    """``sql`` with a long column list cut to its first column."""
    columns = re.match(r"SELECT (.*?) FROM ", sql)
    if columns is None or len(columns.group(1)) < 120:
        return sql
    first = columns.group(1).split(", ")[0]
    count = columns.group(1).count(", ") + 1
    return f"SELECT {first}, … ({count} columns) FROM {sql[columns.end() :]}"


def label_ms(result: dict[str, Any], prefix: str) -> float:
    """The time of the queries of one page whose label starts with ``prefix``."""
    return sum(q["ms"] for q in result["sql"] if q["label"].startswith(prefix))


def costliest(result: dict[str, Any], count: int) -> str:
    """The ``count`` slowest queries of a page, with their times."""
    top = sorted(result["sql"], key=lambda query: -query["ms"])[:count]
    return ", ".join(f"{query['label']} ({query['ms']:.0f} ms)" for query in top)


def reading(largest: list[dict[str, Any]]) -> str:
    """A paragraph per database at the largest size, with the run's numbers."""
    paragraphs = []
    for run in largest:
        listed = run["pages"]["list"]
        summary = run["pages"][SUMMARIZE]
        slow = [
            f"{name}, {result['median_ms']:.0f} ms: {costliest(result, 2)}"
            for name, result in run["pages"].items()
            if result["median_ms"] > SLOW_MS and name not in ("list", SUMMARIZE)
        ]
        rows = label_ms(listed, "page of rows") + label_ms(listed, "result")
        paragraphs.append(
            f"**{title(run)}.** The plain list took {listed['median_ms']:.0f} ms"
            f" (median), {listed['sql_ms']:.0f} ms of it in {listed['queries']}"
            f" queries; the costliest were {costliest(listed, 3)}. Its summary's"
            f" queries took {label_ms(listed, 'summary'):.0f} ms together"
            f" (`summarize()` alone, {summary['median_ms']:.0f} ms), the sidebar's"
            f" filter choices {label_ms(listed, 'filter choices'):.0f} ms, the date"
            f" hierarchy {label_ms(listed, 'date hierarchy'):.0f} ms, and the page"
            f" of rows with its count {rows:.0f} ms; the other"
            f" {listed['median_ms'] - listed['sql_ms']:.0f} ms or so went to Python"
            " (the admin, the summary's figures and charts, the template). "
            + (
                f"Other pages over {SLOW_MS:g} ms, with their costliest queries: "
                + "; ".join(slow)
                + "."
                if slow
                else f"No other page took over {SLOW_MS:g} ms."
            )
        )
    return "\n\n".join(paragraphs)


def page(environment: list[str], runs: list[dict[str, Any]]) -> str:
    largest = [run for run in runs if run["records"] == max(SIZES)]
    header = page_header(
        "bench/admin_page.py",
        "The admin's list of audio sessions",
        "How long the admin takes to serve its list of session records, with the"
        " summary above it, on SQLite and on PostgreSQL, with"
        f" {' and '.join(f'{size:,}' for size in SIZES)} records.",
        environment,
        "a few minutes; `--no-postgres` skips PostgreSQL",
    )
    urls = "\n".join(
        f"- {name}: `{result['url'] or 'summarize(SessionRecord.objects.all())'}`"
        for name, result in largest[0]["pages"].items()
    )
    return reflow(f"""\
{header}
## What was run

For each database and size, a child process migrates a new database (a SQLite
file; on PostgreSQL a database created beside the tests' own and dropped
afterwards), adds that many records from `bench/sample_sessions.py` (spread over
the last {DAYS} days) with `bulk_create`, creates a superuser and logs it in to
Django's test `Client`, with `DEBUG` off. PostgreSQL then gets `VACUUM ANALYZE`,
as autovacuum would soon after such an insert; SQLite gets no `ANALYZE`, as a
Django project never runs one. Each page is requested {WARMUP} times, then
{REPEATS} times timed: request to response through the whole Django stack
(middleware, admin, summary, template), without HTTP or static files. Then
{CAPTURES} more requests time each of their queries (`CaptureQueriesContext`), and
each query's median is kept. The drill-down goes to the day a week before the run
and to that day's month.

{urls}

## Page times

Median / p90 ms of {REPEATS} requests:

{times_table(runs)}

## Queries

At {max(SIZES):,} records: each page's three slowest queries, the rows its filter
selects, its number of queries, their time, and the page's median time. Every page
also reads the login session and the user; "filter choices" are the sidebar's
`SELECT DISTINCT` over the whole table, one per filter whose choices come from the
data (rate, format, processor, close code, close error); "date hierarchy" is
Django's links to years, months or days above the list, and the range query that
picks them:

{queries_table(largest)}

## Reading the numbers

{reading(largest)}

## Plans of the slow pages

{plans(largest)}

The raw figures, every query's time included, are in `docs/admin-page.json`. One
run on a shared {os.cpu_count()}-CPU machine with the database server beside it:
read the medians, and rerun before trusting a difference under 20%.
""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write",
        action="store_true",
        help=f"rewrite {DOC_PATH.relative_to(ROOT)} and {JSON_PATH.name}",
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="admin database")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--records", type=int, default=max(SIZES), help="with --child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.records)))
        return

    databases, versions = benchmark_databases(
        None if args.no_postgres else args.postgres_url
    )
    environment = describe_environment(["Django", "numpy", "psycopg"], versions)
    print("\n".join(environment), flush=True)

    runs = []
    with tempfile.TemporaryDirectory(prefix="wsaudio-bench-") as tmp:
        for database, url in databases.items():
            # temporary_database makes each child's database beside this one.
            os.environ["DATABASE_URL"] = url
            for records in SIZES:
                runs.append(run_child(records, Path(tmp) / f"{database}-{records}"))
                print(f"{database}, {records:,} records: done", flush=True)
    largest = [run for run in runs if run["records"] == max(SIZES)]
    print(times_table(runs), queries_table(largest), reading(largest), sep="\n\n")
    if args.write:
        JSON_PATH.write_text(json.dumps(runs, indent=1) + "\n")
        DOC_PATH.write_text(page(environment, runs))
        print(f"\nwrote {DOC_PATH.relative_to(ROOT)} and {JSON_PATH.name}")


if __name__ == "__main__":
    main()
