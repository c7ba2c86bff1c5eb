"""Counts of observations per fixed log-scale bucket, dependency-free so any layer can keep one.

Four buckets per doubling, 0.01 ms to ~280 s: recording is one ``bisect`` and a quantile is
read to within ±10 % without keeping samples, cheap enough to record every record's latency
on the hot path (the runtime's ``WorkerMetrics``, the processor's per-source latency). Core,
not ``streaming.runtime``, because the pure processor keeps some too.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

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
