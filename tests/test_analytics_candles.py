"""OHLCV candles from recorded real trades equal an independent pandas resample of the same
trades; rollups agree with the 1-minute candles; re-sent batches are not counted twice."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from lucent_platform.analytics import migrate
from lucent_platform.analytics.candles import (
    CANDLE_COLUMNS,
    QUOTE_OHLCV,
    TOP_VOLUME_TODAY,
    all_ohlcv_sql,
    ohlcv_sql,
    rebuild,
)
from lucent_platform.analytics.insert import insert_rows
from lucent_platform.analytics.rows import to_row
from lucent_platform.config import Settings, with_overrides
from tests.analytics_data import recorded_trades, simulated

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

EVERYTHING = {"start": datetime(2000, 1, 1, tzinfo=UTC), "end": datetime(2100, 1, 1, tzinfo=UTC)}
SUMS = ["volume", "trades", "quote"]


@pytest.fixture
def db(clickhouse: Client, settings: Settings) -> Client:
    migrate(clickhouse, with_overrides(settings, clickhouse_database=clickhouse.database))
    return clickhouse


def trade_rows() -> list[tuple[Any, ...]]:
    rows = [to_row(e) for e in recorded_trades()]
    return [row for row in rows if row is not None]


def insert_shuffled(client: Client, rows: list[tuple[Any, ...]], blocks: int) -> None:
    """The trades in random order, in several insert blocks (partial candle states)."""
    shuffled = rows[:]
    random.Random(5).shuffle(shuffled)
    for i in range(blocks):
        insert_rows(client, client.database, "trades", shuffled[i::blocks])


def candles(client: Client, interval: str) -> pd.DataFrame:
    frame = client.query_df(all_ohlcv_sql(interval), parameters=EVERYTHING)
    assert list(frame.columns) == list(CANDLE_COLUMNS)
    frame["time"] = pd.to_datetime(frame["time"]).dt.tz_localize(None)
    return frame.set_index(["exchange", "pair", "time"]).sort_index()


def pandas_candles(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """The same trades resampled by pandas, independently of ClickHouse: open/close are the
    first/last trade by (event time, numeric trade id); ties without an id are kept as sets."""
    trades = pd.DataFrame(
        [(r[4], r[5], r[1], r[6], r[7], int(r[8] or 0)) for r in rows],
        columns=["exchange", "pair", "ms", "price", "amount", "tid"],
    )
    trades["time"] = pd.to_datetime(trades["ms"], unit="ms")
    trades["quote"] = trades["price"] * trades["amount"]
    trades = trades.sort_values(["ms", "tid"], kind="stable").set_index("time")
    grouped = trades.groupby(["exchange", "pair"]).resample("1min")
    out = grouped["price"].ohlc()
    out["volume"] = grouped["amount"].sum()
    out["trades"] = grouped["price"].count()
    out["quote"] = grouped["quote"].sum()
    out = out[out["trades"] > 0]
    out["vwap"] = out["quote"] / out["volume"]
    minute = trades.index.floor("min")
    keyed = trades.assign(minute=minute).reset_index()
    first = keyed.groupby(["exchange", "pair", "minute"])
    out["opens"] = first.apply(lambda g: _at(g, g["ms"].min(), first=True), include_groups=False)
    out["closes"] = first.apply(lambda g: _at(g, g["ms"].max(), first=False), include_groups=False)
    out.index.names = ["exchange", "pair", "time"]
    return out.sort_index()


def _at(group: pd.DataFrame, ms: int, *, first: bool) -> frozenset[float]:
    """The price(s) the candle may open/close with: the trade at ``ms`` with the lowest/highest
    trade id, or every trade at ``ms`` when ids cannot order them (Kraken v1 has none)."""
    at = group[group["ms"] == ms]
    ids = at["tid"]
    if (ids > 0).all() and ids.is_unique:
        return frozenset(at.loc[ids == (ids.min() if first else ids.max()), "price"])
    return frozenset(at["price"])


def test_one_minute_candles_equal_a_pandas_resample_of_the_recorded_trades(db: Client) -> None:
    rows = trade_rows()
    insert_shuffled(db, rows, blocks=4)
    ours, theirs = candles(db, "1m"), pandas_candles(rows)
    assert len({(e, p) for e, p, _ in theirs.index}) >= 10  # Binance, Coinbase, Kraken pairs
    assert list(ours.index) == list(theirs.index)
    for column in ("high", "low", "volume", "vwap"):
        assert ours[column].to_numpy() == pytest.approx(theirs[column].to_numpy(), rel=1e-12)
    assert (ours["trades"].to_numpy() == theirs["trades"].to_numpy()).all()
    assert all(o in opens for o, opens in zip(ours["open"], theirs["opens"], strict=True))
    assert all(c in closes for c, closes in zip(ours["close"], theirs["closes"], strict=True))
    exact = sum(len(opens) == 1 for opens in theirs["opens"])
    assert exact > 0.8 * len(theirs)  # most candles' open is decided by time and trade id


def test_rollups_agree_with_the_one_minute_candles(db: Client) -> None:
    rows = trade_rows()
    insert_shuffled(db, rows, blocks=3)
    minute = candles(db, "1m").reset_index()
    for interval, freq in (("1h", "h"), ("1d", "D"), ("5m", "5min"), ("4h", "4h")):
        minute["bucket"] = minute["time"].dt.floor(freq)
        by = minute.sort_values("time").groupby(["exchange", "pair", "bucket"])
        expected = pd.DataFrame(
            {
                "open": by["open"].first(),
                "high": by["high"].max(),
                "low": by["low"].min(),
                "close": by["close"].last(),
                "volume": by["volume"].sum(),
                "trades": by["trades"].sum(),
            }
        )
        rolled = candles(db, interval)
        assert list(rolled.index) == list(expected.index), interval
        for column in expected.columns:
            assert rolled[column].to_numpy() == pytest.approx(
                expected[column].to_numpy(), rel=1e-12
            ), (interval, column)


def test_one_pair_and_the_design_record_top_volume_query(db: Client) -> None:
    rows = trade_rows()
    insert_shuffled(db, rows, blocks=2)
    params = {"exchange": "binance", "pair": "BTC-USDT", **EVERYTHING}
    btc = db.query_df(ohlcv_sql("1m"), parameters=params)
    assert set(btc["pair"]) == {"BTC-USDT"} and btc["time"].is_monotonic_increasing
    assert btc["trades"].sum() == sum(1 for r in rows if r[4:6] == ("binance", "BTC-USDT"))
    assert db.query_df(
        ohlcv_sql("1m"), parameters={**params, "pair": "x'; DROP TABLE trades"}
    ).empty
    assert db.query(TOP_VOLUME_TODAY).result_rows == []  # recorded in 2021: nothing today


def totals(client: Client) -> list[tuple[Any, ...]]:
    """Raw trade count, then trade counts and volume summed in each candle table."""
    found = [client.query("SELECT count() FROM trades").result_rows[0]]
    for table in ("market_data", "market_data_1h", "market_data_1d"):
        sql = f"SELECT sum(trade_count), round(sum(total_volume), 9) FROM {table}"
        found.append(client.query(sql).result_rows[0])
    return found


def test_a_batch_re_sent_with_its_token_adds_nothing_anywhere(db: Client) -> None:
    rows = trade_rows()
    insert_rows(db, db.database, "trades", rows, token="market.trades.all:0:0-707")
    once = totals(db)
    assert once[0][0] == len(rows) and once[1][0] == len(rows)
    insert_rows(db, db.database, "trades", rows, token="market.trades.all:0:0-707")
    assert totals(db) == once
    # Another token is another batch: the raw table still dedupes by message id (FINAL), but
    # the views fire on every insert and the candles count the trades twice...
    insert_rows(db, db.database, "trades", rows[::-1], token="after-a-crash-rebatched")
    final = db.query("SELECT count() FROM trades FINAL").result_rows[0][0]
    assert final == len(rows) and totals(db)[1][0] == 2 * len(rows)
    # ...until the affected days are rebuilt from the deduplicated trades.
    days = sorted({datetime.fromtimestamp(r[1] / 1000, UTC).date() for r in rows})
    start = datetime(days[0].year, days[0].month, days[0].day, tzinfo=UTC)
    end = datetime(days[-1].year, days[-1].month, days[-1].day, tzinfo=UTC) + timedelta(days=1)
    rebuild(db, start, end)
    rebuilt = totals(db)
    assert rebuilt[1:] == once[1:]
    with pytest.raises(ValueError, match="whole UTC days"):
        rebuild(db, start + timedelta(hours=1), end)


def test_every_table_dedupes_a_re_sent_batch(db: Client) -> None:
    from tests.test_analytics_tables import expected_rows

    for table, by_id in expected_rows().items():
        rows = list(by_id.values())
        for _ in range(2):
            insert_rows(db, db.database, table, rows, token=f"{table}:batch-1")
        count = db.query(f"SELECT count() FROM {table}").result_rows[0][0]  # no FINAL
        assert count == len(rows), table


def test_quote_candles_are_the_mid_price_per_minute(db: Client) -> None:
    normalized, _ = simulated()
    rows = [to_row(e) for e in normalized if e.header.message_type == "price_update"]
    prices = [row for row in rows if row is not None]
    insert_rows(db, db.database, "prices", prices[::2])
    insert_rows(db, db.database, "prices", prices[1::2])
    quotes = pd.DataFrame(
        [(r[4], r[5], r[1], (r[7] + r[8]) / 2 if r[7] and r[8] else r[6]) for r in prices],
        columns=["exchange", "pair", "ms", "mid"],
    ).sort_values("ms", kind="stable")
    quotes["time"] = pd.to_datetime(quotes["ms"], unit="ms").dt.floor("min")
    by = quotes.groupby(["exchange", "pair", "time"])["mid"]
    expected = pd.DataFrame(
        {"open": by.first(), "high": by.max(), "low": by.min(), "close": by.last(),
         "updates": by.count()}
    )  # fmt: skip
    for exchange, pair in {(e, p) for e, p, _ in expected.index}:
        params = {"exchange": exchange, "pair": pair, **EVERYTHING}
        ours = db.query_df(QUOTE_OHLCV, parameters=params)
        theirs = expected.loc[(exchange, pair)]
        assert len(ours) == len(theirs)
        for column in theirs.columns:
            assert ours[column].to_numpy() == pytest.approx(theirs[column].to_numpy(), rel=1e-12)
