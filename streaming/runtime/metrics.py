"""A worker's counters and latency histograms, dependency-free so any exporter can read them.

Histograms use fixed log-scale buckets (four per doubling, 0.01 ms to ~280 s), so recording is
one ``bisect`` and a quantile is read to within ±10 % without keeping samples: cheap enough
to record every record's end-to-end latency on the hot path.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

BUCKET_BOUNDS_MS: tuple[float, ...] = tuple(0.01 * 2 ** (i / 4) for i in range(100))
"""Upper bounds of the buckets in ms; one more bucket catches anything above the last."""


class Histogram:
    """Counts of observations (ms) per fixed log-scale bucket; quantiles from the buckets."""

    __slots__ = ("buckets", "count", "max", "total")

    def __init__(self) -> None:
        self.buckets = [0] * (len(BUCKET_BOUNDS_MS) + 1)
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def observe(self, value_ms: float) -> None:
        self.buckets[bisect_left(BUCKET_BOUNDS_MS, value_ms)] += 1
        self.count += 1
        self.total += value_ms
        if value_ms > self.max:
            self.max = value_ms

    def observe_many(self, values_ms: Iterable[float]) -> None:
        buckets, bounds = self.buckets, BUCKET_BOUNDS_MS
        n, total, top = 0, 0.0, self.max
        for v in values_ms:
            buckets[bisect_left(bounds, v)] += 1
            n += 1
            total += v
            if v > top:
                top = v
        self.count += n
        self.total += total
        self.max = top

    def quantile(self, q: float) -> float:
        """The bucket bound below which a fraction ``q`` of observations fall (0 if empty).

        Never more than the largest value seen, so a p99 of a single observation reads as
        that observation rather than its bucket's upper bound.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be within [0, 1], got {q}")
        if self.count == 0:
            return 0.0
        rank = q * self.count
        seen = 0
        for i, n in enumerate(self.buckets):
            seen += n
            if n and seen >= rank:
                bound = BUCKET_BOUNDS_MS[i] if i < len(BUCKET_BOUNDS_MS) else self.max
                return min(bound, self.max)
        return self.max

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    def summary(self) -> dict[str, float]:
        return {
            "count": self.count,
            "mean": round(self.mean, 3),
            "p50": round(self.quantile(0.5), 3),
            "p99": round(self.quantile(0.99), 3),
            "max": round(self.max, 3),
        }


@dataclass
class WorkerMetrics:
    """Everything a worker counts and times, handed to ``on_batch`` and exporters as is.

    ``counts`` holds the runtime's own counters — ``consumed``, ``produced``, ``batches``,
    ``commits``, ``commit_failures``, ``backpressure_waits``, ``pauses``, ``consume_errors``,
    ``delivery_retries``, ``aborts``, ``rewound`` (records read again after an abort),
    ``rebalances`` — and, summed over batches, every count the processor reported (``in``,
    ``normalized``, ``dead_lettered``, ``duplicates``, …), so a stage's exact accounting
    (in = out + dead-lettered + duplicates) can be checked on the worker itself.
    """

    counts: Counter[str] = field(default_factory=Counter)
    batch_ms: Histogram = field(default_factory=Histogram)
    """Per batch: consume returned → every output handed to the producer (process + produce)."""
    commit_ms: Histogram = field(default_factory=Histogram)
    """Per commit: the synchronous offset commit, or the transaction's offsets + commit."""
    end_to_end_ms: Histogram = field(default_factory=Histogram)
    """Per record: its batch's outputs durable (all acknowledged, or the transaction
    committed) minus the input record's timestamp."""
    started: float = field(default_factory=time.monotonic)

    def snapshot(self) -> dict[str, object]:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return {
            "counts": dict(self.counts),
            "consumed_per_s": round(self.counts["consumed"] / elapsed, 1),
            "batch_ms": self.batch_ms.summary(),
            "commit_ms": self.commit_ms.summary(),
            "end_to_end_ms": self.end_to_end_ms.summary(),
        }

    def log_line(self) -> str:
        c, e2e = self.counts, self.end_to_end_ms
        return (
            f"consumed={c['consumed']} produced={c['produced']} batches={c['batches']} "
            f"dead_lettered={c['dead_lettered']} duplicates={c['duplicates']} "
            f"pauses={c['pauses']} commit_failures={c['commit_failures']} "
            f"batch_p99={self.batch_ms.quantile(0.99):.1f}ms "
            f"e2e_p50={e2e.quantile(0.5):.1f}ms e2e_p99={e2e.quantile(0.99):.1f}ms"
        )
