"""The GIL benchmark runs end to end in its quick mode, and its page names every
workload with a ratio. No timing is asserted: the figures are the benchmark's."""

import re
import subprocess
import sys

from tests.live.server import ROOT


def test_the_quick_gil_run_times_every_library_on_one_thread_and_two():
    run = subprocess.run(
        [sys.executable, "bench/gil_release.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = re.findall(r"^\| (.+?) \| .+ \| ([\d.]+) \| ([\d.]+) \| ", run.stdout, re.M)
    names = [name for name, _, _ in rows]
    for workload in ("RNNoise", "soxr", "ONNX Runtime", "`denoise`", "`vad`"):
        assert any(workload in name for name in names), (workload, names)
    assert all(float(ms) > 0 and float(ratio) > 0 for _, ms, ratio in rows)
