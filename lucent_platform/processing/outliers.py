"""Outliers: a price far from the rolling median of its own venue × pair, by robust z-score.

``z = |price - median| / scale`` with ``scale = max(1.4826 × MAD, median × min_scale_bps)``
over the last ``window`` accepted prices (1.4826 makes the MAD estimate a standard deviation
for normal data; MAD, the median absolute deviation, ignores the very outliers it is hunting).
A price with ``z > threshold`` is an outlier and stays out of the window, so one absurd tick
cannot drag the median after it. Rules that keep it honest:

- warm-up: no robust verdict before ``window // 2`` prices, every price enters until then,
  except that from ``WARMUP_MIN`` prices on a price ``WARMUP_WIDENING`` times farther from
  the median than the floor allows (40 % with the defaults) is still an outlier — without
  that a ×10 tick in a pair's first seconds entered the window (found by the simulator);
- scale floor: a flat window (a quiet pair on a coarse price grid has MAD 0) would otherwise
  flag the first ordinary move;
- level shifts: ``reset_after`` outliers in a row are the market, not a glitch (a venue's
  price really did jump); the window restarts from them and the last one is accepted.

Cost: a sorted copy of the window is kept alongside arrival order (insert and remove by
bisection). The MAD is only computed when a price is farther from the median than the floor
alone would allow (``threshold × min_scale_bps``, 4 % with the defaults): nearer prices cannot
be outliers whatever the MAD, so the common case is a median lookup and one insertion.
"""

from __future__ import annotations

import bisect
from collections import deque

MAD_TO_SIGMA = 1.4826
WARMUP_MIN = 3  # prices before any verdict: the median of fewer is one of them
WARMUP_WIDENING = 10.0  # how much wider than the floor the warm-up verdict is


class RollingMedian:
    """The outlier detector of one venue × pair's price series."""

    __slots__ = (
        "_floor",
        "_order",
        "_rejected",
        "_reset_after",
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
        self._floor = min_scale_bps / 10_000.0  # the scale floor, relative to the median
        self._reset_after = reset_after
        self._order: deque[float] = deque()
        self._sorted: list[float] = []
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
        values = self._sorted
        n = len(values)
        if n >= self._warm:
            half = n >> 1
            median = values[half] if n & 1 else (values[half - 1] + values[half]) * 0.5
            deviation = abs(price - median)
            if deviation > self._threshold * self._floor * median:  # rare: look closer
                scale = max(_median_deviation(values, median) * MAD_TO_SIGMA, median * self._floor)
                if deviation > self._threshold * scale:
                    return self._reject(price, median, deviation / scale, scale)
        elif n >= WARMUP_MIN:
            half = n >> 1
            median = values[half] if n & 1 else (values[half - 1] + values[half]) * 0.5
            scale = median * self._floor * WARMUP_WIDENING
            deviation = abs(price - median)
            if deviation > self._threshold * scale:
                return self._reject(price, median, deviation / scale, scale)
        if self._rejected:
            self._rejected.clear()
        order = self._order
        order.append(price)
        bisect.insort(values, price)
        if n >= self._window:
            del values[bisect.bisect_left(values, order.popleft())]
        return None

    def _reject(self, price: float, median: float, z: float, scale: float) -> str | None:
        rejected = self._rejected
        rejected.append(price)
        if len(rejected) < self._reset_after:
            return (
                f"price {price} is {z:.1f} robust z from median {median} "
                f"(scale {scale:.6g}, threshold {self._threshold})"
            )
        # A level shift: the market moved, follow it from these prices.
        self._order = deque(rejected)
        self._sorted = sorted(rejected)
        self._rejected = []
        return None


def _median_deviation(values: list[float], median: float) -> float:
    """The MAD of ``values`` around ``median``."""
    deviations = sorted([abs(value - median) for value in values])
    n = len(deviations)
    half = n >> 1
    return deviations[half] if n & 1 else (deviations[half - 1] + deviations[half]) * 0.5
