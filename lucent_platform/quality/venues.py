"""Cross-exchange deviation: each venue's price against the median of all venues, per pair
and minute.

The input is one price per exchange, pair and minute (``reads.minute_prices``: the quote
candles' closing mid). A venue far from the others is a stale feed, a wrong pair mapping or a
unit error more often than a real dislocation, so it is worth a look either way.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping

import pandas as pd

from lucent_platform.quality.expectations import AtMost, validate
from lucent_platform.quality.outcome import Outcome, outcome

COLUMNS = ["minute", "pair", "exchange", "price", "median", "deviation_bps"]


def deviations(prices: pd.DataFrame, *, min_venues: int = 2) -> pd.DataFrame:
    """Each price with its pair-minute's median across venues and ``|price / median - 1|`` in
    bps; minutes quoted by fewer than ``min_venues`` venues are left out (nothing to compare)."""
    if prices.empty:
        return pd.DataFrame(columns=COLUMNS)
    groups = prices.groupby(["pair", "minute"], sort=False)
    venues = groups["exchange"].transform("nunique")
    frame = prices.assign(median=groups["price"].transform("median"))[venues >= min_venues]
    frame = frame.assign(deviation_bps=(frame["price"] / frame["median"] - 1).abs() * 10_000)
    return frame.sort_values(["minute", "pair", "exchange"])[COLUMNS].reset_index(drop=True)


def deviation_bps(price: float, median: float) -> float:
    """``|price / median - 1|`` in bps: the one definition of a venue's deviation."""
    return abs(price / median - 1) * 10_000


def venue_deviations(
    prices: Mapping[str, float], *, min_venues: int = 2
) -> tuple[float, dict[str, float]] | None:
    """One pair's latest price per venue → (median across venues, each venue's deviation in
    bps), as ``deviations`` computes it for a pair-minute; None with fewer than ``min_venues``
    venues. For the stream monitor, which compares venues quote by quote, not per minute."""
    if len(prices) < min_venues:
        return None
    median = statistics.median(prices.values())
    return median, {venue: deviation_bps(p, median) for venue, p in prices.items()}


def venues_agree(
    prices: pd.DataFrame, *, max_bps: float, min_venues: int = 2, sample_rows: int = 10
) -> Outcome:
    """Every venue's price within ``max_bps`` of its pair-minute's median across venues; the
    sample shows the largest deviations first."""
    frame = deviations(prices, min_venues=min_venues)
    frame = frame.sort_values("deviation_bps", ascending=False, kind="stable")
    broken = validate(frame, [AtMost("deviation_bps", max_bps)])
    figures = {"max_deviation_bps": max_bps}
    return outcome(frame, broken, what="venue-minutes", sample_rows=sample_rows, figures=figures)
