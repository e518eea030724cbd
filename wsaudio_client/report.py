"""Terminal output: a progress bar while a command runs, tables when it ends."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table


def progress(*, enabled: bool) -> Progress:
    """A progress bar on stderr, so stdout keeps only the results."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(file=sys.stderr),
        disable=not enabled,
        transient=True,
    )


def print_tables(tables: Iterable[Table]) -> None:
    console = Console()
    for table in tables:
        console.print(table)


def _table(title: str, rows: Iterable[tuple[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for name, value in rows:
        table.add_row(name, "-" if value is None else str(value))
    return table


def _rtt_rows(rtt: dict[str, float | None], label: str) -> list[tuple[str, Any]]:
    return [(f"{label} {name} (ms)", value) for name, value in rtt.items()]


def echo_tables(summary: dict[str, Any]) -> list[Table]:
    frames = summary["frames"]
    session = _table(
        "session",
        [
            ("server", summary["server"]),
            ("session", summary["session"]),
            ("rate / format", f"{summary['rate']} Hz {summary['format']}"),
            ("processor", summary["processor"]),
            ("chain", _chain(summary["chain"])),
            ("input", summary["input"]["path"]),
            ("output", summary["output"]),
            ("elapsed (s)", summary["elapsed_s"]),
        ],
    )
    results = _table(
        "frames and round trips",
        [
            ("frames sent", frames["sent"]),
            ("frames received", frames["received"]),
            ("lost", frames["lost"]),
            ("refused by the server", frames["refused"]),
            ("mismatched", frames["mismatched"]),
            *_reconnect_rows(summary),
            *_rtt_rows(summary["rtt_ms"], "round trip"),
        ],
    )
    stats = _table("server stats", (summary["server_stats"] or {}).items())
    tables = [session, results, stats]
    if summary.get("gaps"):
        tables.append(_gaps_table(summary["gaps"]))
    if summary["analysis"]:
        tables.append(_analysis_table(summary["analysis"]))
    return tables


def _reconnect_rows(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """Rows for a run with ``--reconnect``; none for one without."""
    if summary.get("reconnect") is None:
        return []
    gaps = summary["gaps"]
    return [
        ("reconnects", summary["reconnects"]),
        ("lost in gaps", sum(gap["frames_lost"] for gap in gaps)),
        ("longest gap (s)", max((gap["seconds"] for gap in gaps), default=None)),
    ]


def _gaps_table(gaps: list[dict[str, Any]]) -> Table:
    """One row per reconnect: why, the frames it lost (unanswered in the old
    session, sent into the void), how long and how many tries it took."""
    table = Table(title="gaps", title_justify="left")
    table.add_column("cause", no_wrap=True)
    for column in ("lost", "unanswered", "void", "frames", "seconds", "attempts"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("refused")
    for gap in gaps:
        table.add_row(
            gap["cause"],
            str(gap["frames_lost"]),
            str(gap["unanswered"]),
            str(gap["into_the_void"]),
            _runs(gap["lost_frames"]),
            f"{gap['seconds']:.3f}",
            str(gap["attempts"]),
            "\n".join(f"{key}: {n}" for key, n in gap["refusals"].items()) or "none",
        )
    return table


def _runs(runs: list[list[int]]) -> str:
    """``[[3, 5], [9, 9]]`` as ``3-5, 9``."""
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs) or "none"


def _chain(chain: list[dict[str, Any]] | None) -> str | None:
    """``highpass (cutoff_hz=300.0, order=2) → gain (db=-6.0)``"""
    if chain is None:
        return None
    return " → ".join(_stage(stage) for stage in chain)


def _stage(stage: dict[str, Any]) -> str:
    options = ", ".join(f"{name}={value}" for name, value in stage["options"].items())
    return f"{stage['name']} ({options})" if options else stage["name"]


def _analysis_table(reports: list[dict[str, Any]]) -> Table:
    """One row per analysis message, a column per member (dBFS, Hz, band levels)."""
    columns = list(dict.fromkeys(key for report in reports for key in report))
    table = Table(title="analysis", title_justify="left")
    for column in columns:
        table.add_column(column, justify="left" if column == "bands" else "right")
    for report in reports:
        table.add_row(*(_value(report.get(column)) for column in columns))
    return table


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list):
        return " ".join(_value(item) for item in value)
    return str(value)


def loadtest_tables(summary: dict[str, Any]) -> list[Table]:
    frames, generator = summary["frames"], summary["generator"]
    verdict = "yes" if summary["held_real_time"] else "NO"
    run = _table(
        f"load test: {summary['streams']} streams for {summary['seconds']:g} s "
        f"- held real time: {verdict}",
        [
            ("server", summary["server"]),
            ("rate / format", f"{summary['rate']} Hz {summary['format']}"),
            ("frames per second, all streams", summary["frames_per_second"]),
            *(
                (f"frames {name.replace('_', ' ')}", value)
                for name, value in frames.items()
            ),
            ("connect failures", _counts(summary["connect_failures"])),
            ("server errors", _counts(summary["server_errors"])),
            ("closed early", _counts(summary["closed_early"])),
            *_loadtest_gap_rows(summary),
            *_rtt_rows(summary["rtt_ms"], "round trip"),
        ],
    )
    load = _table(
        "the generator"
        + (" (OVERLOADED: numbers are suspect)" if generator["overloaded"] else ""),
        [
            ("CPU (% of one core)", generator["cpu_percent"]),
            *_rtt_rows(generator["loop_lag_ms"], "event-loop lag"),
            *_rtt_rows(generator["send_lateness_ms"], "send lateness"),
        ],
    )
    tables = [run, load]
    if summary["server_process"]:
        tables.append(_table("the server process", summary["server_process"].items()))
    slow = summary["slow_readers"]
    if slow["requested"]:
        tables.append(
            _table(
                "slow readers",
                [
                    (name, _counts(v) if isinstance(v, dict) else v)
                    for name, v in slow.items()
                ],
            )
        )
    return tables


def _loadtest_gap_rows(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """Rows for a load test with ``--reconnect``; none for one without."""
    if summary.get("reconnect") is None:
        return []
    gaps = summary["gaps"]
    return [
        ("reconnects", summary["reconnects"]),
        ("reconnect causes", _counts(gaps["causes"])),
        ("frames lost in gaps", gaps["frames_lost"]),
        ("longest gap (s)", gaps["longest_s"]),
    ]


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key}: {n}" for key, n in counts.items()) or "none"
