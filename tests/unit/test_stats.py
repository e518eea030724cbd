"""Processing-time percentiles from fixed buckets: close, never optimistic."""

import numpy as np
import pytest

from echo.sessions.stats import BUCKET_EDGES_NS, DurationHistogram


def histogram_of(durations) -> DurationHistogram:
    histogram = DurationHistogram()
    for ns in durations:
        histogram.add(int(ns))
    return histogram


def test_an_empty_histogram_reads_zero():
    assert DurationHistogram().percentile_ns(0.99) == 0


def test_buckets_are_twelve_percent_wide_from_a_microsecond_to_ten_seconds():
    assert BUCKET_EDGES_NS[0] == 1_000 and BUCKET_EDGES_NS[-1] == 10_000_000_000
    ratios = np.array(BUCKET_EDGES_NS[1:]) / np.array(BUCKET_EDGES_NS[:-1])
    assert ratios.max() < 1.123


@pytest.mark.parametrize("seed", range(5))
def test_the_p99_is_at_or_just_above_the_true_one(seed):
    durations = np.random.default_rng(seed).lognormal(np.log(8000), 0.6, 10_000)
    histogram = histogram_of(durations)
    true_p99 = np.percentile(durations.astype(int), 99, method="inverted_cdf")
    assert true_p99 <= histogram.percentile_ns(0.99) <= true_p99 * 1.123


def test_a_percentile_is_never_above_the_largest_duration():
    histogram = histogram_of([5_000] * 100)
    assert histogram.percentile_ns(0.99) == 5_000 == histogram.largest_ns


def test_durations_beyond_the_last_bucket_read_as_the_largest():
    histogram = histogram_of([20_000_000_000, 30_000_000_000])
    assert histogram.percentile_ns(0.99) == 30_000_000_000


def test_durations_under_a_microsecond_read_as_at_most_the_largest():
    assert histogram_of([0, 10]).percentile_ns(0.5) == 10
