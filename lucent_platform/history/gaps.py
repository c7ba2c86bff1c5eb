"""Missing candles: the intervals of a window that have no candle.

Exchanges publish no candle for a minute without trades (Binance and Coinbase skip it, Kraken
repeats the last close with zero volume), and an API may serve only recent history (Kraken's
OHLC answers the last 720 candles): both show up here, so a backfill reports how complete a
day is instead of claiming it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lucent_platform.history.days import Window


@dataclass(frozen=True)
class Gap:
    """Candles missing from ``start_ms`` (inclusive) to ``end_ms`` (exclusive)."""

    start_ms: int
    end_ms: int
    interval_ms: int

    @property
    def candles(self) -> int:
        return (self.end_ms - self.start_ms) // self.interval_ms


def missing_candles(open_times: Iterable[int], window: Window, interval_ms: int) -> list[Gap]:
    """Gaps in the candle grid of ``window`` (candles open on multiples of ``interval_ms`` from the
    window's start); times outside the window are ignored.

    >>> missing_candles([0, 60_000, 180_000], Window(0, 240_000), 60_000)
    [Gap(start_ms=120000, end_ms=180000, interval_ms=60000)]
    """
    present = sorted({t for t in open_times if window.contains(t)})
    gaps = []
    expected = window.start_ms
    for t in present:
        if t > expected:
            gaps.append(Gap(expected, t, interval_ms))
        expected = max(expected, t + interval_ms)
    if expected < window.end_ms:
        gaps.append(Gap(expected, window.end_ms, interval_ms))
    return [gap for gap in gaps if gap.candles > 0]
