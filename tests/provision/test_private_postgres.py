"""scripts/private_postgres.py: a cluster of the run's own, gone when the run ends."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

SCRIPT = Path(__file__).parents[2] / "scripts" / "private_postgres.py"
# What a run sees of its server, from inside.
REPORT = """
import json, os, psycopg
with psycopg.connect(os.environ["DATABASE_URL"]) as db:
    data = db.execute("SHOW data_directory").fetchone()[0]
    port = db.execute("SHOW port").fetchone()[0]
print(json.dumps({"url": os.environ["DATABASE_URL"], "data": data, "port": int(port),
                  "given": os.environ["WSAUDIO_PRIVATE_POSTGRES_DIR"]}))
"""


def private_run(*command: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *command], stdout=subprocess.PIPE, text=True
    )


def test_two_runs_at_once_each_get_a_server_of_their_own_which_then_goes():
    runs = [private_run(sys.executable, "-c", REPORT) for _ in range(2)]
    reports = []
    for run in runs:
        output, _ = run.communicate(timeout=120)
        assert run.returncode == 0
        reports.append(json.loads(output))
    first, second = reports
    for report in reports:
        assert report["data"] == report["given"]  # the server is the run's own
        assert f"127.0.0.1:{report['port']}/test" in report["url"]
        assert not Path(report["data"]).exists()  # removed at the end
    assert first["port"] != second["port"]
    assert first["data"] != second["data"]
    try:
        psycopg.connect(first["url"], connect_timeout=2).close()
    except psycopg.OperationalError:
        pass
    else:
        raise AssertionError("the server still answers after its run")


def test_the_commands_exit_status_is_the_runs():
    run = private_run(sys.executable, "-c", "raise SystemExit(3)")
    run.communicate(timeout=120)
    assert run.returncode == 3


def test_a_run_stopped_with_sigterm_still_removes_its_server(tmp_path: Path):
    told = tmp_path / "data-dir"
    run = private_run(
        "sh", "-c", f'echo "$WSAUDIO_PRIVATE_POSTGRES_DIR" > {told}; exec sleep 60'
    )
    deadline = time.monotonic() + 60
    while not (told.exists() and told.read_text().strip()):
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.1)
    data = Path(told.read_text().strip())
    assert data.exists()
    run.send_signal(signal.SIGTERM)
    run.communicate(timeout=60)
    assert run.returncode == 128 + signal.SIGTERM
    assert not data.parent.exists()  # the cluster's folder, data and all
