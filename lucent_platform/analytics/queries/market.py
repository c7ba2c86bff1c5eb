"""Market queries: top pairs by volume, OHLCV candles, VWAP, cross-exchange spread history.

Where duplicates could count twice they are removed: ``vwap`` reads ``trades FINAL``; candles
count what the server let into ``trades`` (see ``analytics.candles``); ``spread_history`` takes
maxima, minima and latest values, which a duplicate row does not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from lucent_platform.analytics.candles import INTERVALS, ohlcv_sql
from lucent_platform.analytics.queries.registry import (
    Moment,
    Param,
    Query,
    bind_time,
    canonical_exchange,
    canonical_pair,
    duration_ms,
    qualify,
    select,
    today_utc,
)

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client

BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
NO_END = datetime(2200, 1, 1, tzinfo=UTC)
"""The range of a time parameter left out: everything stored."""


@dataclass(frozen=True, slots=True)
class PairVolume:
    """One pair's traded volume over a UTC day, summed over exchanges."""

    pair: str
    volume: float  # base units (sum of trade amounts)
    quote_volume: float  # quote units (sum of price × amount)
    trades: int
    exchanges: int


def top_volume(
    client: Client, day: date | None = None, limit: int = 20, *, database: str | None = None
) -> list[PairVolume]:
    """The design record's "top 20 pairs by volume today": ``sum(total_volume)`` of the
    1-minute candles of the UTC ``day`` (default today) by pair, largest first."""
    sql = f"""SELECT pair, sum(total_volume) AS volume, sum(quote_volume) AS quote_volume,
    sum(trade_count) AS trades, uniqExact(exchange) AS exchanges
FROM {qualify(database)}market_data
WHERE toDate(minute) = {{day:Date}}
GROUP BY pair
ORDER BY volume DESC, pair
LIMIT {{limit:UInt32}}"""
    return select(client, sql, {"day": day or today_utc(), "limit": limit}, PairVolume)


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV candle (``time`` is its start, UTC)."""

    time: datetime
    exchange: str
    pair: str
    open: float
    high: float
    low: float
    close: float
    volume: float
    trades: int
    vwap: float
    avg_price: float


def ohlcv(
    client: Client,
    exchange: str,
    pair: str,
    interval: str = "1m",
    start: Moment | None = None,
    end: Moment | None = None,
    limit: int | None = None,
    *,
    database: str | None = None,
) -> list[Candle]:
    """Candles of ``exchange``/``pair`` starting in ``[start, end)`` (default: all), oldest
    first; with ``limit``, only the latest ``limit`` of them.

    ``interval`` is one of ``candles.INTERVALS``: 1m, 1h and 1d are read from their own
    table; 5m/15m/30m are re-aggregated from 1-minute candles and 4h from hourly ones, with
    the same -Merge combinators, so they equal candles computed from the trades directly.
    """
    sql = ohlcv_sql(interval, database)
    if limit is not None:
        sql = f"SELECT * FROM ({sql}) ORDER BY time DESC LIMIT {{limit:UInt32}}"
    parameters: dict[str, object] = {
        "exchange": canonical_exchange(exchange),
        "pair": canonical_pair(pair),
        "start": bind_time(start if start is not None else BEGINNING),
        "end": bind_time(end if end is not None else NO_END),
    }
    if limit is not None:
        parameters["limit"] = limit
    candles = select(client, sql, parameters, Candle)
    return candles[::-1] if limit is not None else candles


@dataclass(frozen=True, slots=True)
class Vwap:
    """Volume-weighted average price of a pair's trades (``exchange`` is ``all`` across
    venues)."""

    exchange: str
    pair: str
    vwap: float
    volume: float
    quote_volume: float
    trades: int
    first_trade: datetime
    last_trade: datetime


def vwap(
    client: Client,
    exchange: str | None,
    pair: str,
    start: Moment | None = None,
    end: Moment | None = None,
    *,
    database: str | None = None,
) -> list[Vwap]:
    """``sum(price × amount) / sum(amount)`` of the trades in ``[start, end)`` on ``exchange``
    (``None``: every exchange), from ``trades FINAL``, so to the millisecond and with each
    trade once; one row, none when there were no trades."""
    # The constants are added outside: an alias named like a column (``pair``) would stand
    # for that column in WHERE.
    sql = f"""SELECT ifNull({{exchange:Nullable(String)}}, 'all'), {{pair:String}}, *
FROM
(
    SELECT sum(price * amount) / sum(amount), sum(amount), sum(price * amount), count(),
        min(event_time), max(event_time)
    FROM {qualify(database)}trades FINAL
    WHERE pair = {{pair:String}}
        AND ({{exchange:Nullable(String)}} IS NULL OR exchange = {{exchange:Nullable(String)}})
        AND event_time >= {{start:DateTime64(3, 'UTC')}}
        AND event_time < {{end:DateTime64(3, 'UTC')}}
    HAVING count() > 0
)"""
    parameters = {
        "exchange": None if exchange is None else canonical_exchange(exchange),
        "pair": canonical_pair(pair),
        "start": bind_time(start if start is not None else BEGINNING),
        "end": bind_time(end if end is not None else NO_END),
    }
    return select(client, sql, parameters, Vwap)


@dataclass(frozen=True, slots=True)
class Spread:
    """The best bid and ask across exchanges in one time bucket, and the spread between them.

    ``spread = best_ask - best_bid``; negative means the venues were crossed (buy on
    ``best_ask_exchange``, sell on ``best_bid_exchange``). ``spread_bps`` is over the mid.
    """

    time: datetime
    pair: str
    best_bid: float
    best_bid_exchange: str
    best_ask: float
    best_ask_exchange: str
    spread: float
    spread_bps: float
    venues: int


def spread_history(
    client: Client,
    pair: str,
    start: Moment | None = None,
    end: Moment | None = None,
    bucket: str = "1m",
    min_venues: int = 2,
    *,
    database: str | None = None,
) -> list[Spread]:
    """Cross-exchange spread of ``pair`` per ``bucket`` (``30s``, ``1m``, ``1h`` …) over
    ``[start, end)``, oldest first, from ``prices``: each venue's last bid and ask in the
    bucket, then the highest bid and the lowest ask among the venues. Buckets quoted by fewer
    than ``min_venues`` venues are left out."""
    sql = f"""SELECT time, {{pair:String}} AS pair,
    max(last_bid) AS best_bid, argMax(exchange, last_bid) AS best_bid_exchange,
    min(last_ask) AS best_ask, argMin(exchange, last_ask) AS best_ask_exchange,
    best_ask - best_bid AS spread,
    (best_ask - best_bid) / ((best_ask + best_bid) / 2) * 10000 AS spread_bps,
    count() AS venues
FROM
(
    SELECT
        fromUnixTimestamp64Milli(
            intDiv(toUnixTimestamp64Milli(event_time), {{bucket_ms:Int64}}) * {{bucket_ms:Int64}},
            'UTC'
        ) AS time,
        exchange,
        argMax(assumeNotNull(bid), event_time) AS last_bid,
        argMax(assumeNotNull(ask), event_time) AS last_ask
    FROM {qualify(database)}prices
    WHERE pair = {{pair:String}} AND bid IS NOT NULL AND ask IS NOT NULL
        AND event_time >= {{start:DateTime64(3, 'UTC')}}
        AND event_time < {{end:DateTime64(3, 'UTC')}}
    GROUP BY time, exchange
)
GROUP BY time
HAVING venues >= {{min_venues:UInt32}}
ORDER BY time"""
    parameters = {
        "pair": canonical_pair(pair),
        "bucket_ms": duration_ms(bucket),
        "min_venues": min_venues,
        "start": bind_time(start if start is not None else BEGINNING),
        "end": bind_time(end if end is not None else NO_END),
    }
    return select(client, sql, parameters, Spread)


_EXCHANGE = Param("exchange", "exchange", "Exchange, e.g. binance (any case).")
_PAIR = Param("pair", "pair", "Pair BASE-QUOTE, e.g. ETH-USDC (any case; / or _ work too).")
_START = Param("start", "time", "From (inclusive): ISO-8601, epoch ms or an age (2h, 1d).", None)
_END = Param("end", "time", "Until (exclusive), same forms (default: no end).", None)

QUERIES = (
    Query(
        "top-volume",
        "Top pairs by traded volume on a UTC day (the design record's top 20 by volume today).",
        (
            Param("day", "date", "UTC day, YYYY-MM-DD (default today).", None),
            Param("limit", "int", "How many pairs.", 20),
        ),
        PairVolume,
        top_volume,
        "market_data",
    ),
    Query(
        "ohlcv",
        "OHLCV candles of one exchange and pair, oldest first.",
        (
            _EXCHANGE,
            _PAIR,
            Param("interval", "interval", "Candle length.", "1m", tuple(INTERVALS)),
            Param("start", "time", _START.help + " Default: all stored.", None),
            _END,
            Param("limit", "int", "Only the latest LIMIT candles (default all).", None),
        ),
        Candle,
        ohlcv,
        "market_data",
    ),
    Query(
        "vwap",
        "Volume-weighted average price of a pair's trades, deduplicated.",
        (
            Param("exchange", "exchange", "Exchange (default: all exchanges together).", None),
            _PAIR,
            _START,
            _END,
        ),
        Vwap,
        vwap,
        "trades",
    ),
    Query(
        "spread-history",
        "Cross-exchange spread of a pair per time bucket: best bid and ask across venues.",
        (
            _PAIR,
            _START,
            _END,
            Param("bucket", "duration", "Bucket length: 30s, 1m, 5m, 1h …", "1m"),
            Param("min_venues", "int", "Leave out buckets quoted by fewer venues.", 2),
        ),
        Spread,
        spread_history,
        "prices",
    ),
)
