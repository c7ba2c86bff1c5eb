"""Historical backfills' pure core: instruments, day windows, paging, rows and gaps.

The Dagster assets (``assets/history.py``) fetch a day of one instrument's candles and trades
from an exchange's REST API through ccxt (``lucent_platform.connectors.rest``) and write them to
``ohlcv_history`` / ``trades_history`` (migration 0008). Everything that decides *what* to ask
for and *what* to store lives here, free of I/O:

- ``instruments``: the ``exchange:pair`` instrument keys (``binance:BTC-USDT``) of the
  ``instruments`` dynamic partitions;
- ``days``: a day partition as a ``[start, end)`` window in epoch milliseconds;
- ``paging``: how a window is walked page by page with ``since``/``until``/``limit``;
- ``rows``: ccxt's unified candles and trades as table rows, clipped to the window, de-duplicated;
- ``gaps``: which candles of a window are missing;
- ``store``: the SQL that replaces one partition's rows (through a client handed in).
"""

from __future__ import annotations

from lucent_platform.history.days import Window, day_window
from lucent_platform.history.gaps import Gap, missing_candles
from lucent_platform.history.instruments import (
    InstrumentKey,
    InstrumentKeyError,
    instrument_key,
    parse_instrument_key,
)

__all__ = [
    "Gap",
    "InstrumentKey",
    "InstrumentKeyError",
    "Window",
    "day_window",
    "instrument_key",
    "missing_candles",
    "parse_instrument_key",
]
