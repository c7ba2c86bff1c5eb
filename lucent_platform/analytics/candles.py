"""OHLCV candles: the finalizing SELECTs over ``market_data`` and its rollups.

The candle tables hold partial aggregate states (migration ``0002_candles``); a query must
finalize them: ``argMinMerge(open)``/``argMaxMerge(close)``, ``max(high)``, ``min(low)``,
``sum(...)`` of the simple columns, grouped by the bucket. These are the canonical queries
for the query API; parameters are always bound (``{exchange:String}`` …), never formatted in.

Intervals: ``1m``, ``1h`` and ``1d`` read their own table; ``5m``, ``15m``, ``30m`` re-aggregate
the 1-minute table and ``4h`` the hourly one at query time (at most 60 rows per bucket), so
every interval's candle equals the candle of the same trades computed directly.

Duplicates: the candles count what reached ``trades``' insert. A trade block the server
deduplicated (same ``insert_deduplication_token``, or identical bytes, within the last 1000
blocks) is not counted again; a trade re-inserted in a *different* block (a sink that re-batches
after a crash without reusing its token) is counted twice here while ``trades`` keeps it once
(ReplacingMergeTree). ``rebuild`` recomputes whole days of candles from the deduplicated
trades for that case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client

CANDLE_TABLES = ("market_data", "market_data_1h", "market_data_1d", "quote_candles")


@dataclass(frozen=True)
class Interval:
    """Where an interval's candles come from: table, its bucket column, and the bucketing."""

    table: str
    column: str
    bucket: str  # SQL over ``column`` giving the candle's start


INTERVALS: dict[str, Interval] = {
    "1m": Interval("market_data", "minute", "minute"),
    "5m": Interval("market_data", "minute", "toStartOfInterval(minute, INTERVAL 5 MINUTE)"),
    "15m": Interval("market_data", "minute", "toStartOfInterval(minute, INTERVAL 15 MINUTE)"),
    "30m": Interval("market_data", "minute", "toStartOfInterval(minute, INTERVAL 30 MINUTE)"),
    "1h": Interval("market_data_1h", "hour", "hour"),
    "4h": Interval("market_data_1h", "hour", "toStartOfInterval(hour, INTERVAL 4 HOUR)"),
    "1d": Interval("market_data_1d", "day", "toDateTime(day, 'UTC')"),
}

_FINALIZED = """
    argMinMerge(open) AS open,
    max(high) AS high,
    min(low) AS low,
    argMaxMerge(close) AS close,
    sum(total_volume) AS volume,
    sum(trade_count) AS trades,
    sum(quote_volume) / sum(total_volume) AS vwap,
    avgMerge(avg_price) AS avg_price"""

CANDLE_COLUMNS = (
    "time", "exchange", "pair", "open", "high", "low", "close", "volume", "trades", "vwap",
    "avg_price",
)  # fmt: skip
"""The columns every ``ohlcv_sql`` query returns, in order (``time`` is the candle start)."""


def ohlcv_sql(interval: str, database: str | None = None) -> str:
    """Candles of one exchange and pair starting in ``[{start}, {end})``, oldest first.

    Bound parameters: ``exchange``, ``pair`` (String), ``start``, ``end``
    (``DateTime64(3, 'UTC')``, timezone-aware datetimes). ``database`` qualifies the
    table (default: the client's database). Columns are ``CANDLE_COLUMNS``.
    """
    return _select(interval, database, "exchange = {exchange:String} AND pair = {pair:String} AND ")


def all_ohlcv_sql(interval: str, database: str | None = None) -> str:
    """Candles of every exchange and pair starting in ``[{start}, {end})``, by exchange, pair,
    time; parameters as ``ohlcv_sql`` without ``exchange``/``pair``."""
    return _select(interval, database, "")


def _select(interval: str, database: str | None, where: str) -> str:
    spec = _interval(interval)
    bucket = f"toDateTime({spec.bucket}, 'UTC')"
    # Filtering on the bucket (monotonic in the key column) keeps the primary-key index in use
    # and takes whole candles only.
    return f"""SELECT
    {bucket} AS time,
    exchange,
    pair,{_FINALIZED}
FROM {_qualify(database)}{spec.table}
WHERE {where}{bucket} >= {{start:DateTime64(3, 'UTC')}} AND {bucket} < {{end:DateTime64(3, 'UTC')}}
GROUP BY exchange, pair, time
ORDER BY exchange, pair, time"""


QUOTE_OHLCV = """SELECT
    minute AS time,
    exchange,
    pair,
    argMinMerge(open) AS open,
    max(high) AS high,
    min(low) AS low,
    argMaxMerge(close) AS close,
    sum(updates) AS updates
FROM quote_candles
WHERE exchange = {exchange:String} AND pair = {pair:String}
  AND minute >= {start:DateTime64(3, 'UTC')} AND minute < {end:DateTime64(3, 'UTC')}
GROUP BY exchange, pair, time
ORDER BY time"""
"""1-minute candles of one venue's mid price (``quote_candles``, from ``prices``); parameters
as ``ohlcv_sql``."""

TOP_VOLUME_TODAY = """SELECT pair, sum(total_volume) AS volume
FROM market_data
WHERE toDate(minute) = today()
GROUP BY pair
ORDER BY volume DESC
LIMIT 20"""
"""The design record's "top 20 by volume today", unchanged: ``total_volume`` is a simple sum
column, so it needs no -Merge (and now sums trade amounts, not 24-hour volumes)."""


def rebuild(client: Client, start: datetime, end: datetime, database: str | None = None) -> None:
    """Recompute the candles of the whole UTC days ``[start, end)`` from ``trades FINAL``.

    For repairing candles after duplicate trades arrived in different insert blocks: deletes
    the days from all three candle tables (synchronously), then re-inserts their 1-minute
    candles, which the views roll up into 1h and 1d again. Run it while no trades of those days
    are being inserted.
    """
    if any(t.tzinfo is None or (t.hour, t.minute, t.second, t.microsecond) != (0, 0, 0, 0)
           for t in (start, end)):  # fmt: skip
        raise ValueError("rebuild takes whole UTC days: start and end at 00:00 UTC, tz-aware")
    q = _qualify(database)
    days = {"start": start, "end": end}
    deletes = (
        ("market_data", "minute"), ("market_data_1h", "hour"), ("market_data_1d", "day"),
    )  # fmt: skip
    for table, column in deletes:
        bound = "toDate({start:DateTime('UTC')})", "toDate({end:DateTime('UTC')})"
        if column != "day":
            bound = "{start:DateTime('UTC')}", "{end:DateTime('UTC')}"
        client.command(
            f"ALTER TABLE {q}{table} DELETE WHERE {column} >= {bound[0]} AND {column} < {bound[1]}",
            parameters=days,
            settings={"mutations_sync": 2},
        )
    client.command(
        f"""INSERT INTO {q}market_data
SELECT
    toStartOfMinute(toDateTime(event_time, 'UTC')) AS minute, exchange, pair,
    argMinState(price, (event_time, toUInt64OrZero(trade_id))),
    max(price), min(price),
    argMaxState(price, (event_time, toUInt64OrZero(trade_id))),
    sum(amount), sum(price * amount), toUInt64(count()), avgState(price)
FROM {q}trades FINAL
WHERE event_time >= {{start:DateTime('UTC')}} AND event_time < {{end:DateTime('UTC')}}
GROUP BY exchange, pair, minute""",
        parameters=days,
    )


def _interval(interval: str) -> Interval:
    try:
        return INTERVALS[interval]
    except KeyError:
        raise ValueError(
            f"interval must be one of {', '.join(INTERVALS)}, got {interval!r}"
        ) from None


def _qualify(database: str | None) -> str:
    if database is None:
        return ""
    return "`" + database.replace("\\", "\\\\").replace("`", "\\`") + "`."
