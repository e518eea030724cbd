"""The capacity benchmark runs end to end in its quick mode (seconds, a few
streams): every server starts, every phase reports, and the page is written from
what it measured. No timing is asserted: the figures are the benchmark's."""

import json
import subprocess
import sys

from tests.live.server import ROOT


def test_the_quick_capacity_run_measures_every_server_and_phase(tmp_path):
    raw = tmp_path / "capacity.json"
    run = subprocess.run(
        [sys.executable, "bench/capacity.py", "--quick", "--json", str(raw)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = {
        result["server"]: result for result in json.loads(raw.read_text())["results"]
    }
    assert set(results) == {"daphne", "uvicorn", "baseline"}
    for kind, result in results.items():
        # Whether a count was held is a timing, left to the benchmark: a busy
        # machine may not hold even 4 streams for its one-second step.
        assert {ladder["format"] for ladder in result["ladders"]} == {"f32", "s16"}
        for ladder in result["ladders"]:
            assert ladder["steps"], (kind, ladder["format"])
            for step in ladder["steps"]:
                assert step["frames"]["mismatched"] == 0
                assert step["frames"]["share_received"] > 0
                assert step["server_process"]["cpu_us_per_frame"] > 0
        assert result["idle"]["held"] == 20
        assert result["idle"]["pings_answered"] >= 20
    for kind in ("daphne", "uvicorn"):
        slow = results[kind]["slow"]
        assert slow["loadtest"]["slow_readers"]["connected"] == 2
        assert len(slow["rss_mib"]) >= 2
        assert sum(slow["records_by_close_code"].values()) == 6  # 4 streams, 2 slow
    assert "## Streams held in real time" in run.stdout
    for kind in ("daphne", "uvicorn", "baseline"):
        for fmt in ("f32", "s16"):
            assert f"| {kind} | {fmt} | " in run.stdout
