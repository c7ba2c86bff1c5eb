"""ccxt's unified candles and trades as ``ohlcv_history`` / ``trades_history`` rows.

Rows are tuples in the column order of ``OHLCV_COLUMNS`` / ``TRADE_COLUMNS`` (migration 0008),
times as aware UTC datetimes built exactly from the integer milliseconds ccxt gives. Only rows
inside the partition's window are kept (an API may answer beyond it), each natural key once
(pages overlap where trades share a millisecond), sorted by time. A row ccxt could not fill
(a missing price or volume) is counted, not stored: the tables hold no NULL prices.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lucent_platform.history.days import Window
from lucent_platform.history.instruments import InstrumentKey

OHLCV_COLUMNS = (
    "exchange", "pair", "interval", "open_time", "open", "high", "low", "close", "volume",
)  # fmt: skip
TRADE_COLUMNS = ("exchange", "pair", "trade_id", "time", "price", "amount", "side")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SIDES = frozenset({"buy", "sell"})


def utc_ms(ms: int) -> datetime:
    """Epoch milliseconds as an aware UTC datetime, exactly (no float rounding)."""
    return _EPOCH + timedelta(milliseconds=ms)


@dataclass
class Rows:
    """Rows for one table, and how many fetched rows were dropped and why."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    outside_window: int = 0
    duplicates: int = 0
    incomplete: int = 0


def candle_rows(
    instrument: InstrumentKey, interval: str, ohlcv: Iterable[Sequence[Any]], window: Window
) -> Rows:
    """``[[open_ms, open, high, low, close, volume], …]`` (ccxt ``fetch_ohlcv``) → rows.

    >>> candle_rows(InstrumentKey("binance", "BTC-USDT"), "1m",
    ...             [[1634943780000, 60685.22, 60729.84, 60670.9, 60719.27, 21.63272]],
    ...             Window(1634860800000, 1634947200000)).rows[0][3:5]
    (datetime.datetime(2021, 10, 22, 23, 3, tzinfo=datetime.timezone.utc), 60685.22)
    """
    out = Rows()
    by_time: dict[int, tuple[Any, ...]] = {}
    for candle in ohlcv:
        open_ms = int(candle[0])
        if not window.contains(open_ms):
            out.outside_window += 1
            continue
        values = candle[1:6]
        if len(values) < 5 or any(v is None for v in values):
            out.incomplete += 1
            continue
        if open_ms in by_time:
            out.duplicates += 1
        open_, high, low, close, volume = (float(v) for v in values)
        by_time[open_ms] = (
            instrument.exchange, instrument.pair, interval, utc_ms(open_ms),
            open_, high, low, close, volume,
        )  # fmt: skip
    out.rows = [by_time[t] for t in sorted(by_time)]
    return out


def trade_rows(instrument: InstrumentKey, trades: Iterable[dict[str, Any]], window: Window) -> Rows:
    """ccxt unified trades (``fetch_trades``) → rows, keyed by trade id.

    A trade without an id (some venues give none) is keyed by its time, price, amount and
    side, so the same trade fetched twice still collapses into one row.
    """
    out = Rows()
    by_id: dict[str, tuple[Any, ...]] = {}
    for trade in trades:
        ms = trade.get("timestamp")
        if ms is None:
            out.incomplete += 1
            continue
        ms = int(ms)
        if not window.contains(ms):
            out.outside_window += 1
            continue
        price, amount = trade.get("price"), trade.get("amount")
        if price is None or amount is None:
            out.incomplete += 1
            continue
        side = trade.get("side") if trade.get("side") in _SIDES else None
        trade_id = trade.get("id")
        key = str(trade_id) if trade_id is not None else f"{ms}:{price}:{amount}:{side}"
        if key in by_id:
            out.duplicates += 1
        values = (float(price), float(amount), side)
        by_id[key] = (instrument.exchange, instrument.pair, key, utc_ms(ms), *values)
    out.rows = sorted(by_id.values(), key=lambda row: (row[3], row[2]))
    return out
