"""The processor benchmark runs end to end in its quick mode (toy sizes, about a
minute): every built-in and the typical chain get a row of every table, at both
rates. No timing is asserted: the figures are the benchmark's."""

import json
import subprocess
import sys

from echo.processors import PROCESSORS
from tests.live.server import ROOT

RATES = (16384, 48000)
TYPICAL_CHAIN = "highpass,compressor,gain"
PROCESSORS_WITH_PLUGINS = ("compressor", "limiter", "reverb")  # pedalboard's


def test_the_quick_processor_run_measures_every_processor_at_both_rates(tmp_path):
    raw = tmp_path / "processor-cost.json"
    run = subprocess.run(
        [sys.executable, "bench/processor_cost.py", "--quick", "--json", str(raw)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(raw.read_text())
    chains = [*PROCESSORS, TYPICAL_CHAIN]
    expected = {(chain, rate) for chain in chains for rate in RATES}

    frames = {(row["chain"], row["rate"]): row for row in results["frames"]}
    assert set(frames) == expected
    for (chain, _), row in frames.items():
        assert row["frame"]["median_us"] > 0
        assert row["frame_over_echo"] > 0
        # echo's process returns its block: after the empty call's overhead is
        # subtracted, its figure may round to nothing.
        if chain != "echo":
            assert row["process"]["median_us"] > 0
    assert {tuple(key.split("|")) for key in results["builds"]} == {
        (chain, str(rate)) for chain, rate in expected
    }
    assert all(build["median_us"] > 0 for build in results["builds"].values())

    memory = {(row["chain"], row["rate"]): row for row in results["memory"]}
    assert set(memory) == expected
    # RSS grows by whole pages, so a few small instances may show none: only
    # what tracemalloc counts must be there.
    assert all(row["traced_bytes"] > 0 for row in memory.values())

    primed = {(row["processor"], row["rate"]) for row in results["priming"]}
    assert primed == {
        (name, rate) for name in PROCESSORS_WITH_PLUGINS for rate in RATES
    }
    for row in results["priming"]:
        assert all(row[part]["median_us"] > 0 for part in ("made", "primed", "later"))

    configured = {(row["processor"], row["rate"]) for row in results["configures"]}
    assert configured == {
        (name, rate)
        for name, cls in PROCESSORS.items()
        if cls.options
        for rate in RATES
    }
    for row in results["configures"]:
        assert row["configure"]["median_us"] > 0
        assert row["next_frame"]["median_us"] > 0
    for chain in chains:
        assert f"| {chain} | " in run.stdout

    heavy = [name for name, cls in PROCESSORS.items() if cls.heavy]
    costs = {(row["processor"], row["rate"]): row for row in results["heavy"]}
    assert set(costs) == {
        (name, rate) for name in heavy for rate in (8000, 16000, 16384, 48000)
    }
    assert all(row["cpu_seconds_per_second"] > 0 for row in costs.values())
    assert all(row["declared"] > 0 for row in costs.values())
    first_use = {row["processor"]: row for row in results["first_use"]}
    assert set(first_use) == set(heavy)
    assert all(row["first_frame_ms"] > 0 for row in first_use.values())
