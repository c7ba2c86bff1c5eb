"""Replacing one partition's rows in ``ohlcv_history`` / ``trades_history``.

A partition (one instrument, one day) is written as *delete its range, then insert*:

- the lightweight ``DELETE`` is synchronous (``lightweight_deletes_sync = 2``): rows it removes
  are gone for every later query, on the embedded chDB server and on a real (replicated) server
  alike, so a plain ``count()`` is exact right after a re-run, and rows the exchange no longer
  serves do not linger;
- the insert turns insert de-duplication off (``insert_deduplicate = 0``): a real server's
  replicated tables drop a block identical to a recent one, which after the delete would lose
  the partition's rows; the ReplacingMergeTree below makes duplicates harmless instead;
- the tables are ReplacingMergeTree keyed by the natural key (exchange, pair, interval, open
  time / exchange, pair, time, trade id): two runs of one partition racing (delete, delete,
  insert, insert) leave each row twice until a merge, and ``FINAL`` reads them once.

A failed run between delete and insert leaves the partition empty, which Dagster shows as a
failed partition; re-running it restores the rows. Statements go through the clickhouse-connect
``Client`` handed in (``lucent_platform.adapters.clickhouse``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lucent_platform.analytics.migrate import quote_name
from lucent_platform.history.days import Window
from lucent_platform.history.instruments import InstrumentKey
from lucent_platform.history.rows import OHLCV_COLUMNS, TRADE_COLUMNS, utc_ms

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client

OHLCV_TABLE = "ohlcv_history"
TRADES_TABLE = "trades_history"
SOURCE_TABLES = ("prices", "trades")
"""The stream tables whose (exchange, pair) define the instruments (the sink writes them)."""

_TYPES = {
    OHLCV_TABLE: [
        "LowCardinality(String)", "LowCardinality(String)", "LowCardinality(String)",
        "DateTime64(3, 'UTC')", "Float64", "Float64", "Float64", "Float64", "Float64",
    ],
    TRADES_TABLE: [
        "LowCardinality(String)", "LowCardinality(String)", "String", "DateTime64(3, 'UTC')",
        "Float64", "Float64", "LowCardinality(Nullable(String))",
    ],
}  # fmt: skip
_COLUMNS = {OHLCV_TABLE: OHLCV_COLUMNS, TRADES_TABLE: TRADE_COLUMNS}
_TIME = {OHLCV_TABLE: "open_time", TRADES_TABLE: "time"}


def _where(table: str, interval: str | None) -> str:
    time = _TIME[table]
    where = (
        "exchange = {exchange:String} AND pair = {pair:String} "
        f"AND {time} >= {{start:DateTime64(3, 'UTC')}} AND {time} < {{end:DateTime64(3, 'UTC')}}"
    )
    if interval is not None:
        where += " AND interval = {interval:String}"
    return where


def _params(instrument: InstrumentKey, window: Window, interval: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "exchange": instrument.exchange,
        "pair": instrument.pair,
        "start": utc_ms(window.start_ms),
        "end": utc_ms(window.end_ms),
    }
    if interval is not None:
        params["interval"] = interval
    return params


def replace_partition(
    client: Client,
    database: str,
    table: str,
    instrument: InstrumentKey,
    window: Window,
    rows: Sequence[Sequence[Any]],
    *,
    interval: str | None = None,
) -> None:
    """Make ``rows`` the only rows of ``table`` for ``instrument`` in ``window`` (and
    ``interval``, for candles). See the module doc for why delete-then-insert."""
    if table not in _COLUMNS:
        raise ValueError(f"{table!r} is not a history table")
    client.command(
        f"DELETE FROM {quote_name(database)}.{quote_name(table)} WHERE {_where(table, interval)}",
        parameters=_params(instrument, window, interval),
        settings={"lightweight_deletes_sync": 2},
    )
    if rows:
        client.insert(
            table,
            rows,
            column_names=list(_COLUMNS[table]),
            column_type_names=_TYPES[table],
            database=database,
            settings={"insert_deduplicate": 0},
        )


def count_partition(
    client: Client,
    database: str,
    table: str,
    instrument: InstrumentKey,
    window: Window,
    *,
    interval: str | None = None,
) -> int:
    """Rows ``table`` holds for the partition (``FINAL``: each natural key once)."""
    sql = (
        f"SELECT count() FROM {quote_name(database)}.{quote_name(table)} FINAL "
        f"WHERE {_where(table, interval)}"
    )
    return int(
        client.query(sql, parameters=_params(instrument, window, interval)).result_rows[0][0]
    )


def stream_instruments(client: Client, database: str) -> list[tuple[str, str]]:
    """Every (exchange, pair) the stream tables ``prices`` and ``trades`` hold, sorted; empty
    while neither table exists (migrations not applied yet)."""
    existing = {
        name
        for (name,) in client.query(
            "SELECT name FROM system.tables WHERE database = {db:String}",
            parameters={"db": database},
        ).result_rows
    }
    selects = [
        f"SELECT exchange, pair FROM {quote_name(database)}.{table} GROUP BY exchange, pair"
        for table in SOURCE_TABLES
        if table in existing
    ]
    if not selects:
        return []
    sql = "SELECT DISTINCT exchange, pair FROM (" + " UNION ALL ".join(selects) + ")"
    rows = client.query(sql + " ORDER BY exchange, pair").result_rows
    return [(str(exchange), str(pair)) for exchange, pair in rows]
