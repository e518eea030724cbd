"""The load tester's rules: loopback only unless told, bounded runs, and what
"held real time" means."""

from array import array

import pytest

from wsaudio_client.loadtest import (
    LoadTest,
    LoadTestResults,
    SlowReaderTally,
    StreamTally,
    is_loopback,
    run_loadtest,
)


@pytest.mark.parametrize(
    "server",
    ["ws://127.0.0.1:8000", "ws://127.9.9.9", "ws://localhost:1", "ws://[::1]"],
)
def test_loopback_servers_are_recognised(server):
    assert is_loopback(server)


@pytest.mark.parametrize("server", ["ws://192.0.2.1:8000", "ws://[2001:db8::1]"])
def test_other_servers_are_not_loopback(server):
    assert not is_loopback(server)


async def test_a_remote_server_is_refused_before_any_connection():
    with pytest.raises(ValueError, match="--allow-remote"):
        await run_loadtest(LoadTest(server="ws://192.0.2.1:9", streams=1, seconds=1))


async def test_a_server_pid_that_names_no_process_is_refused():
    test = LoadTest(server="ws://127.0.0.1:9", server_pid=2**22 + 1, seconds=1)
    with pytest.raises(ValueError, match="--server-pid"):
        await run_loadtest(test)


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"streams": 0}, "--streams"),
        ({"streams": 20_001}, "--streams"),
        ({"slow_readers": -1}, "--slow-readers"),
        ({"seconds": 0}, "--seconds"),
        ({"seconds": 3_601}, "--seconds"),
        ({"seconds": 0.01}, "at least one frame"),
        ({"ramp_batch": 0}, "--ramp-batch"),
        ({"frame_samples": 4}, "--frame-samples"),
        ({"format": "f64"}, "--format"),
    ],
)
def test_runs_out_of_bounds_are_refused(change, rule):
    test = LoadTest(server="ws://127.0.0.1:1", **change)
    with pytest.raises(ValueError, match=rule):
        test.validate()


def test_frames_per_stream_follow_the_rate_and_frame_size():
    assert LoadTest(server="ws://h", seconds=3).frames_per_stream == 48
    assert LoadTest(server="ws://h", seconds=1, rate=8000).frames_per_stream == 7


def results(**tally) -> LoadTestResults:
    """100 streams x 1 s = 1600 frames expected, all back in 5 ms unless changed."""
    streams = StreamTally(**{"frames_sent": 1600, "frames_received": 1600, **tally})
    if not streams.rtt_seconds:
        streams.rtt_seconds = array("d", [0.005] * streams.frames_received)
    return LoadTestResults(
        test=LoadTest(server="ws://h", streams=100, seconds=1),
        streams=streams,
        slow_readers=SlowReaderTally(),
        elapsed_s=1.0,
        generator_cpu_s=0.5,
        loop_lag={"p50": 0.1, "p95": 0.2, "p99": 0.3, "max": 1.0},
        server_process=None,
    )


def test_real_time_is_held_with_every_frame_back_quickly():
    assert results().held_real_time


def test_one_mismatch_or_one_connect_failure_is_not_real_time():
    assert not results(mismatched=1).held_real_time
    failed = results()
    failed.streams.connect_failures["busy"] += 1
    assert not failed.held_real_time


def test_up_to_one_frame_in_a_thousand_may_be_lost():
    assert results(frames_received=1599).held_real_time  # 99.94%
    assert not results(frames_received=1598).held_real_time  # 99.88%


def test_a_p99_round_trip_over_20_ms_is_not_real_time():
    slow = array("d", [0.005] * 1580 + [0.021] * 20)  # 1.25% over 20 ms
    assert not results(rtt_seconds=slow).held_real_time
    fine = array("d", [0.005] * 1590 + [0.021] * 10)  # 0.6% over
    assert results(rtt_seconds=fine).held_real_time
