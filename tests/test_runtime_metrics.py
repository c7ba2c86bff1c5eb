"""The worker's latency histograms: fixed log-scale buckets, quantiles within a bucket."""

from __future__ import annotations

import random

import pytest

from streaming.runtime import Histogram, WorkerMetrics
from streaming.runtime.metrics import BUCKET_BOUNDS_MS


def test_quantiles_fall_within_one_bucket_of_the_exact_value() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(2.0, 1.0) for _ in range(10_000)]
    histogram = Histogram()
    histogram.observe_many(values)
    ordered = sorted(values)
    for q in (0.5, 0.9, 0.99):
        exact = ordered[int(q * len(ordered)) - 1]
        assert exact <= histogram.quantile(q) <= exact * 2 ** (1 / 4) * 1.001, q
    assert histogram.count == len(values)
    assert histogram.max == max(values)
    assert histogram.mean == pytest.approx(sum(values) / len(values))


def test_edges_empty_single_negative_and_huge_values() -> None:
    histogram = Histogram()
    assert histogram.quantile(0.99) == 0.0
    histogram.observe(3.0)
    assert histogram.quantile(0.5) == histogram.quantile(0.99) == 3.0  # capped at the max
    histogram.observe(-5.0)  # clock skew: an input stamped in the future lands in bucket 0
    histogram.observe(10 * BUCKET_BOUNDS_MS[-1])  # beyond the last bound: overflow bucket
    assert histogram.buckets[0] == 1 and histogram.buckets[-1] == 1
    assert histogram.quantile(1.0) == 10 * BUCKET_BOUNDS_MS[-1]
    with pytest.raises(ValueError, match="quantile"):
        histogram.quantile(1.5)


def test_snapshot_and_log_line_read_the_counters() -> None:
    metrics = WorkerMetrics()
    metrics.counts.update(consumed=10, produced=9, dead_lettered=1)
    metrics.end_to_end_ms.observe_many([1.0, 2.0, 40.0])
    snapshot = metrics.snapshot()
    assert snapshot["counts"] == {"consumed": 10, "produced": 9, "dead_lettered": 1}
    e2e = snapshot["end_to_end_ms"]
    assert isinstance(e2e, dict)
    assert (e2e["count"], e2e["mean"], e2e["p99"], e2e["max"]) == (3, 14.333, 40.0, 40.0)
    assert 2.0 <= e2e["p50"] <= 2.0 * 2 ** (1 / 4)  # the bound of the bucket holding 2.0
    assert "consumed=10" in metrics.log_line() and "e2e_p99=40.0ms" in metrics.log_line()
