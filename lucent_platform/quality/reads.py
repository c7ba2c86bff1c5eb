"""What the checks read from ClickHouse: the recent window of a table, as DataFrames.

Every read is bounded by time (``since``, bound as a parameter) so a check stays cheap on a
big table: rows by ``event_time`` (the sorting key's time column, within monthly partitions),
candles by their bucket start. Raw tables are read with ``FINAL``, as every analytics query
sees them (copies of one message collapsed). Through a clickhouse-connect client handed in,
like ``analytics.queries``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from lucent_platform.analytics.candles import CANDLE_COLUMNS, all_ohlcv_sql
from lucent_platform.analytics.queries.freshness import VENUE
from lucent_platform.analytics.queries.registry import bind_time, qualify
from lucent_platform.quality.sources import KIND_OF_TABLE

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client

PRICE_COLUMNS = {"message_id": "message_id", "event_time": "event_time",
                 "exchange": "exchange", "pair": "pair", "price": "price"}  # fmt: skip
"""``prices`` and ``trades``: enough to find the row again."""

QUOTE_COLUMNS: dict[str, dict[str, str]] = {
    "prices": {**PRICE_COLUMNS, "bid": "bid", "ask": "ask"},
    "orderbook_top": {
        "message_id": "message_id", "event_time": "event_time",
        "exchange": "exchange", "pair": "pair",
        # Levels are stored best first; a side without levels has no best price.
        "bid": "if(empty(bid_prices), NULL, bid_prices[1])",
        "ask": "if(empty(ask_prices), NULL, ask_prices[1])",
    },
}  # fmt: skip
"""Tables quoting a bid and an ask: the columns that read them."""

ID_COLUMNS = {c: c for c in ("message_id", "event_time", "received_time", "source")}
"""Every raw table starts with these (``analytics.schema``)."""

HISTORY_COLUMNS = ["exchange", "pair", "interval", "open_time", "open", "high", "low", "close",
                   "volume"]  # fmt: skip
"""``ohlcv_history``'s candle columns (migration 0008)."""

TRADE_CANDLES = {"market_data": "1m", "market_data_1h": "1h", "market_data_1d": "1d"}
"""The trade candle tables and the interval each holds."""


def since(now: datetime, minutes: int) -> datetime:
    """The start of a window of ``minutes`` ending at ``now``."""
    return now - timedelta(minutes=minutes)


def table_rows(
    client: Client, table: str, columns: Mapping[str, str], start: datetime, *, database: str
) -> pd.DataFrame:
    """``columns`` (name → expression) of ``table``'s rows with an event time from ``start``."""
    select = ", ".join(f"{expr} AS `{name}`" for name, expr in columns.items())
    sql = (
        f"SELECT {select} FROM {qualify(database)}`{table}` FINAL "
        "WHERE event_time >= {start:DateTime64(3, 'UTC')} ORDER BY event_time"
    )
    return _frame(client, sql, {"start": bind_time(start)}, list(columns))


def trade_candles(
    client: Client, table: str, start: datetime, end: datetime, *, database: str
) -> pd.DataFrame:
    """Finalized candles of ``market_data`` / ``_1h`` / ``_1d`` whose bucket contains or
    follows ``start`` and starts before ``end`` (so the rollups' current hour and day)."""
    interval = TRADE_CANDLES[table]
    bucket = {"1m": "min", "1h": "h", "1d": "D"}[interval]
    first = pd.Timestamp(start).floor(bucket).to_pydatetime()
    sql = all_ohlcv_sql(interval, database)
    frame = _frame(client, sql, {"start": bind_time(first), "end": bind_time(end)}, CANDLE_COLUMNS)
    return frame[["time", "exchange", "pair", "open", "high", "low", "close", "volume"]]


def quote_candles(client: Client, start: datetime, *, database: str) -> pd.DataFrame:
    """Finalized 1-minute mid-price candles (``quote_candles``) from ``start``'s minute."""
    sql = f"""SELECT minute, exchange, pair, argMinMerge(open) AS open, max(high) AS high,
    min(low) AS low, argMaxMerge(close) AS close
FROM {qualify(database)}quote_candles
WHERE minute >= toStartOfMinute({{start:DateTime64(3, 'UTC')}})
GROUP BY exchange, pair, minute
ORDER BY exchange, pair, minute"""
    columns = ["minute", "exchange", "pair", "open", "high", "low", "close"]
    return _frame(client, sql, {"start": bind_time(start)}, columns)


def minute_prices(client: Client, start: datetime, *, database: str) -> pd.DataFrame:
    """Each venue's closing mid price per pair and minute (the quote candles' close)."""
    frame = quote_candles(client, start, database=database)
    return frame.rename(columns={"close": "price"})[["minute", "pair", "exchange", "price"]]


def history_candles(
    client: Client,
    start: datetime,
    end: datetime | None = None,
    *,
    database: str,
    exchange: str | None = None,
    pair: str | None = None,
) -> pd.DataFrame:
    """Backfilled candles (``ohlcv_history``, migration 0008) opening in ``[start, end)``,
    of one exchange and pair when given (a backfill partition)."""
    where = ["open_time >= {start:DateTime64(3, 'UTC')}"]
    params = {"start": bind_time(start)}
    if end is not None:
        where.append("open_time < {end:DateTime64(3, 'UTC')}")
        params["end"] = bind_time(end)
    if exchange is not None and pair is not None:
        where.append("exchange = {exchange:String} AND pair = {pair:String}")
        params.update(exchange=exchange, pair=pair)
    sql = f"""SELECT {", ".join(HISTORY_COLUMNS)}
FROM {qualify(database)}ohlcv_history FINAL
WHERE {" AND ".join(where)}
ORDER BY exchange, pair, interval, open_time"""
    return _frame(client, sql, params, HISTORY_COLUMNS)


def newest_by_venue(client: Client, table: str, start: datetime, *, database: str) -> pd.DataFrame:
    """Each venue's newest event time in ``table`` since ``start`` (venue, last_event)."""
    sql = f"""SELECT toString({VENUE[table]}) AS venue, max(event_time) AS last_event
FROM {qualify(database)}`{table}`
WHERE event_time >= {{start:DateTime64(3, 'UTC')}}
GROUP BY venue ORDER BY venue"""
    return _frame(client, sql, {"start": bind_time(start)}, ["venue", "last_event"])


def accepted_by_venue(client: Client, start: datetime, *, database: str) -> pd.DataFrame:
    """Distinct messages stored per raw market table and venue since ``start`` (table,
    venue, rows): what passed validation."""
    parts = [
        f"""SELECT '{table}' AS `table`, toString({VENUE[table]}) AS venue,
    uniqExact(message_id) AS rows
FROM {qualify(database)}`{table}`
WHERE event_time >= {{start:DateTime64(3, 'UTC')}}
GROUP BY venue"""
        for table in KIND_OF_TABLE
    ]
    sql = "\nUNION ALL\n".join(parts)
    return _frame(client, sql, {"start": bind_time(start)}, ["table", "venue", "rows"])


def dead_by_topic(client: Client, start: datetime, *, database: str) -> pd.DataFrame:
    """Distinct dead letters per source topic since ``start`` (source_topic, rows); a dead
    letter's event time is its record's timestamp on the raw topic."""
    sql = f"""SELECT toString(source_topic) AS source_topic, uniqExact(message_id) AS rows
FROM {qualify(database)}dead_letters
WHERE event_time >= {{start:DateTime64(3, 'UTC')}}
GROUP BY source_topic"""
    return _frame(client, sql, {"start": bind_time(start)}, ["source_topic", "rows"])


def _frame(
    client: Client, sql: str, parameters: dict[str, Any], columns: Sequence[str]
) -> pd.DataFrame:
    """The answer as a frame with ``columns`` (also when no row came, and then no column
    names either)."""
    result = client.query(sql, parameters=parameters)
    frame = pd.DataFrame(list(result.result_rows), columns=list(columns))
    for column in frame.columns:
        # Every time column is UTC; clickhouse-connect hands DateTime64 back naive.
        if frame[column].dtype.kind == "M" or _holds_datetimes(frame[column]):
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _holds_datetimes(column: pd.Series) -> bool:
    return column.dtype == object and len(column) > 0 and isinstance(column.iloc[0], datetime)
