"""Outliers: a price far from the rolling median of its own venue × pair, by robust z-score.

``z = |price - median| / scale`` with ``scale = max(1.4826 × MAD, median × min_scale_bps)``
over the last ``window`` accepted prices (1.4826 makes the MAD estimate a standard deviation
for normal data; MAD, the median absolute deviation, ignores the very outliers it is hunting).
A price with ``z > threshold`` is an outlier and stays out of the window, so one absurd tick
cannot drag the median after it. Rules that keep it honest:

- warm-up: no verdict before ``window // 2`` prices, every price enters until then;
- scale floor: a flat window (a quiet pair on a coarse price grid has MAD 0) would otherwise
  flag the first ordinary move;
- level shifts: ``reset_after`` outliers in a row are the market, not a glitch (a venue's
  price really did jump); the window restarts from them and the last one is accepted.

Cost: a sorted copy of the window is kept alongside arrival order (insert and remove by
bisection); the MAD is recomputed every ``window // 10`` accepted prices rather than every
tick, since it moves slowly; about 1 µs per price at ``window=50``.
"""

from __future__ import annotations

import bisect
from collections import deque

MAD_TO_SIGMA = 1.4826


class RollingMedian:
    """The outlier detector of one venue × pair's price series."""

    __slots__ = (
        "_mad",
        "_mad_every",
        "_min_scale",
        "_order",
        "_rejected",
        "_reset_after",
        "_since_mad",
        "_sorted",
        "_threshold",
        "_warm",
        "_window",
    )

    def __init__(
        self, window: int, threshold: float, min_scale_bps: float, reset_after: int
    ) -> None:
        self._window = window
        self._warm = max(1, window // 2)
        self._threshold = threshold
        self._min_scale = min_scale_bps / 10_000.0
        self._reset_after = reset_after
        self._mad_every = max(1, window // 10)
        self._order: deque[float] = deque()
        self._sorted: list[float] = []
        self._mad = 0.0
        self._since_mad = self._mad_every  # recompute before the first verdict
        self._rejected: list[float] = []

    def __len__(self) -> int:
        return len(self._sorted)

    def median(self) -> float:
        values = self._sorted
        n = len(values)
        half = n >> 1
        return values[half] if n & 1 else (values[half - 1] + values[half]) * 0.5

    def observe(self, price: float) -> str | None:
        """Judge ``price`` (positive and finite): ``None`` when accepted (it enters the
        window), else why it is an outlier (it does not)."""
        if len(self._sorted) >= self._warm:
            median = self.median()
            if self._since_mad >= self._mad_every:
                self._mad = self._median_deviation(median)
                self._since_mad = 0
            scale = max(self._mad * MAD_TO_SIGMA, median * self._min_scale)
            deviation = abs(price - median)
            if deviation > self._threshold * scale:
                rejected = self._rejected
                rejected.append(price)
                if len(rejected) < self._reset_after:
                    return (
                        f"price {price} is {deviation / scale:.1f} robust z from median "
                        f"{median} (scale {scale:.6g}, threshold {self._threshold})"
                    )
                self._restart(rejected)  # a level shift: the market moved, follow it
                return None
        if self._rejected:
            self._rejected.clear()
        self._add(price)
        return None

    def _add(self, price: float) -> None:
        order, values = self._order, self._sorted
        order.append(price)
        bisect.insort(values, price)
        if len(order) > self._window:
            del values[bisect.bisect_left(values, order.popleft())]
        self._since_mad += 1

    def _median_deviation(self, median: float) -> float:
        deviations = sorted([abs(value - median) for value in self._sorted])
        n = len(deviations)
        half = n >> 1
        return deviations[half] if n & 1 else (deviations[half - 1] + deviations[half]) * 0.5

    def _restart(self, prices: list[float]) -> None:
        self._order.clear()
        self._sorted.clear()
        for price in prices:
            self._add(price)
        prices.clear()
        self._since_mad = self._mad_every
