"""The load tester reads the server's CPU from the OS finely enough that a
short, light step still shows the work it did."""

import subprocess
import sys

from wsaudio_client.loadtest import ServerProcess

# Once told to, spins for 3 ms of CPU (less than one of /proc's 10 ms ticks),
# says how long it spun, then idles until killed.
SPIN_WHEN_TOLD = """
import sys, time
print("ready", flush=True)
sys.stdin.readline()
start = time.process_time()
while time.process_time() - start < 0.003:
    pass
print(time.process_time() - start, flush=True)
time.sleep(60)
"""


def test_a_few_milliseconds_of_server_cpu_are_counted():
    with subprocess.Popen(
        [sys.executable, "-c", SPIN_WHEN_TOLD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            assert server.stdout.readline() == "ready\n"
            watched = ServerProcess(server.pid)
            server.stdin.write("spin\n")
            server.stdin.flush()
            spun = float(server.stdout.readline())
            summary = watched.summary(frames_echoed=3)
        finally:
            server.kill()
    assert summary["pid"] == server.pid
    assert spun - 0.0005 <= summary["cpu_s"] <= spun + 0.002  # cpu_s: 3 decimals
    assert summary["cpu_us_per_frame"] >= 1000
