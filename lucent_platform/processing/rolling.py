"""Rolling statistics of one venue × pair's price: SMA and EMA per span, log-return volatility.

Each update is O(number of spans): running sums over a bounded deque, recomputed from the
deque every ``window`` updates so float error cannot accumulate over millions of updates.
"""

from __future__ import annotations

import math
from collections import deque

from lucent_platform.messages import MovingAverage


class PriceSeries:
    """Moving averages over ``spans`` updates and the sample standard deviation of the last
    ``volatility_window`` log returns (``None`` until that many returns are seen)."""

    __slots__ = (
        "_emas",
        "_last",
        "_prices",
        "_returns",
        "_rsq",
        "_rsum",
        "_since_exact",
        "_spans",
        "_spec",
        "_sums",
        "_vol_window",
        "count",
    )

    def __init__(self, spans: tuple[int, ...], volatility_window: int) -> None:
        self._spans = spans
        self._spec = tuple((span, 2.0 / (span + 1)) for span in spans)
        self._prices: deque[float] = deque(maxlen=max(spans, default=1) + 1)
        self._sums = [0.0] * len(spans)
        self._emas = [0.0] * len(spans)
        self._vol_window = volatility_window
        self._returns: deque[float] = deque()
        self._rsum = 0.0
        self._rsq = 0.0
        self._last = 0.0
        self._since_exact = 0
        self.count = 0

    def update(self, price: float) -> None:
        """Add one price (positive and finite)."""
        prices = self._prices
        prices.append(price)
        count = self.count = self.count + 1
        sums, emas = self._sums, self._emas
        if count == 1:
            for i in range(len(sums)):
                sums[i] = emas[i] = price
        else:
            for i, (span, alpha) in enumerate(self._spec):
                sums[i] += price - prices[-span - 1] if count > span else price
                emas[i] += alpha * (price - emas[i])
            change = math.log(price / self._last)
            returns = self._returns
            returns.append(change)
            self._rsum += change
            self._rsq += change * change
            if len(returns) > self._vol_window:
                old = returns.popleft()
                self._rsum -= old
                self._rsq -= old * old
        self._last = price
        self._since_exact += 1
        if self._since_exact >= self._vol_window:
            self._exact()

    def moving_averages(self) -> list[MovingAverage] | None:
        """SMA/EMA of each span that has seen ``span`` prices."""
        count = self.count
        averages = [
            MovingAverage(span, self._sums[i] / span, self._emas[i])
            for i, span in enumerate(self._spans)
            if count >= span
        ]
        return averages or None

    def volatility(self) -> float | None:
        n = len(self._returns)
        if n < self._vol_window or n < 2:
            return None
        variance = (self._rsq - self._rsum * self._rsum / n) / (n - 1)
        return math.sqrt(variance) if variance > 0.0 else 0.0

    def _exact(self) -> None:
        """Recompute the running sums from the values they summarise."""
        self._since_exact = 0
        prices = list(self._prices)
        for i, span in enumerate(self._spans):
            self._sums[i] = math.fsum(prices[-span:])
        self._rsum = math.fsum(self._returns)
        self._rsq = math.fsum(change * change for change in self._returns)
