"""Bar intervals as text (``30s``, ``1m``, ``4h``, ``1d``, ``1w``: ccxt's timeframes) and in ms.

One parser for every place that takes an interval: the candle checks, the training datasets,
the backfills' reports. Months (``1M``) have no fixed length and are refused.
"""

from __future__ import annotations

import re

DAY_MS = 86_400_000

_INTERVAL = re.compile(r"(\d+)(ms|s|m|h|d|w|M)")
_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": DAY_MS, "w": 7 * DAY_MS}


def interval_ms(interval: str) -> int:
    """``"1m"`` → 60000, ``"1w"`` → 604800000; ``ValueError`` naming the text otherwise."""
    match = _INTERVAL.fullmatch(interval.strip())
    if not match or match[2] == "M" or int(match[1]) == 0:
        raise ValueError(
            f"interval {interval!r} is not a fixed timeframe like 30s, 1m, 4h, 1d or 1w"
        )
    return int(match[1]) * _UNIT_MS[match[2]]
