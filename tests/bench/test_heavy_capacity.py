"""The heavy-chain capacity benchmark runs end to end in its quick mode (seconds, a
few streams): every chain gets a ladder against one real server, the heavy ones
their declared cost and what the default budget admits, and the page a row each.
No timing is asserted: the figures are the benchmark's."""

import json
import re
import subprocess
import sys

from tests.live.server import ROOT

CHAINS = ("echo", "highpass,compressor,gain", "denoise", "vad")
HEAVY = ("denoise", "vad")


def test_the_quick_heavy_capacity_run_measures_every_chain(tmp_path):
    raw = tmp_path / "heavy-capacity.json"
    run = subprocess.run(
        [sys.executable, "bench/heavy_capacity.py", "--quick", "--json", str(raw)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(raw.read_text())
    chains = {each["chain"]: each for each in results["chains"]}
    assert tuple(chains) == CHAINS
    for chain, each in chains.items():
        # Whether a count was held is a timing, left to the benchmark: a busy
        # machine may not hold even one stream for its one-second step.
        assert each["steps"], chain
        for step in each["steps"]:
            assert step["frames"]["mismatched"] == 0, chain
            assert step["frames"]["share_received"] > 0, chain
            assert step["server_process"]["cpu_us_per_frame"] > 0, chain
        assert (each["declared_cost"] > 0) is (chain in HEAVY), chain
    assert results["default_budget"] > 0
    assert set(results["cost_per_second"]) == set(HEAVY)

    assert "## Heavy chains: streams per worker" in run.stdout
    rows = dict(re.findall(r"^\| `([a-z,]+)` \| (.+) \|$", run.stdout, re.M))
    assert set(rows) >= set(CHAINS)
    for chain in HEAVY:
        admits = rows[chain].split(" | ")[-1]
        assert int(admits) >= 1, (chain, rows[chain])
