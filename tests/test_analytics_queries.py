"""The analytics queries answer what an independent pandas computation over the same stored
messages answers: recorded real trades and hand-made sets with known answers."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from lucent_platform.analytics import migrate
from lucent_platform.analytics.candles import CANDLE_COLUMNS, INTERVALS
from lucent_platform.analytics.queries import (
    QUERIES,
    Candle,
    freshness,
    ohlcv,
    spread_history,
    top_volume,
    vwap,
    yield_opportunities,
)
from lucent_platform.config import Settings, with_overrides
from lucent_platform.envelope import new_envelope
from lucent_platform.messages import PriceUpdate, Trade
from tests.analytics_data import recorded_trades
from tests.query_data import (
    SYNTHETIC_START,
    quotes,
    store,
    synthetic_trades,
    trades_frame,
    yield_rates,
)

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

RULES = {"1m": "1min", "5m": "5min", "15m": "15min", "30m": "30min", "1h": "1h", "4h": "4h",
         "1d": "1D"}  # fmt: skip


@pytest.fixture
def db(clickhouse: Client, settings: Settings) -> Client:
    """A client on this test's own, migrated database."""
    migrate(clickhouse, with_overrides(settings, clickhouse_database=clickhouse.database))
    return clickhouse


def resampled(trades: pd.DataFrame, interval: str) -> pd.DataFrame:
    """Candles by pandas: resample each venue and pair's trades (sorted by time, trade id)."""
    frames = []
    for (exchange, pair), group in trades.groupby(["exchange", "pair"]):
        g = group.assign(quote=group.price * group.amount).set_index("time")
        c = g.resample(RULES[interval]).agg(
            {"price": ["first", "max", "min", "last", "count", "mean"], "amount": "sum",
             "quote": "sum"}
        )  # fmt: skip
        c.columns = ["open", "high", "low", "close", "trades", "avg_price", "volume", "quote"]
        c = c[c.trades > 0].reset_index()
        c["vwap"] = c.quote / c.volume
        frames.append(c.assign(exchange=exchange, pair=pair))
    return pd.concat(frames)[list(CANDLE_COLUMNS)].reset_index(drop=True)


def as_frame(candles: list[Candle]) -> pd.DataFrame:
    frame = QUERIES["ohlcv"].frame(candles)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame


def test_intervals_cover_the_documented_ones() -> None:
    assert {"1m", "5m", "15m", "1h", "4h", "1d"} <= set(INTERVALS) == set(RULES)


def test_ohlcv_of_every_interval_equals_a_pandas_resample_of_the_trades(db: Client) -> None:
    envelopes = [*recorded_trades(), *synthetic_trades()]
    store(db, envelopes)
    trades = trades_frame(envelopes)
    keys = trades[["exchange", "pair"]].drop_duplicates().itertuples(index=False)
    keys = list(keys)
    assert len(keys) >= 8
    for interval in RULES:
        expected = resampled(trades, interval)
        got = pd.concat([as_frame(ohlcv(db, ex, pair, interval)) for ex, pair in keys])
        got = got.sort_values(["exchange", "pair", "time"]).reset_index(drop=True)
        expected = expected.sort_values(["exchange", "pair", "time"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(
            got, expected, check_dtype=False, check_exact=False, rtol=1e-9, obj=interval
        )


def test_ohlcv_takes_a_time_range_a_limit_and_any_case(db: Client) -> None:
    envelopes = synthetic_trades()
    store(db, envelopes)
    hour = 3_600_000
    start, end = SYNTHETIC_START + 2 * hour, SYNTHETIC_START + 10 * hour
    candles = ohlcv(db, "Binance", "eth/usdc", "1h", start, datetime.fromtimestamp(end / 1000, UTC))
    assert [c.time for c in candles] == [
        datetime.fromtimestamp((start + n * hour) / 1000, UTC) for n in range(8)
    ]
    assert {(c.exchange, c.pair) for c in candles} == {("binance", "ETH-USDC")}
    latest = ohlcv(db, "binance", "ETH-USDC", "15m", limit=3)
    assert latest == ohlcv(db, "binance", "ETH-USDC", "15m")[-3:]
    with pytest.raises(ValueError, match="interval must be one of"):
        ohlcv(db, "binance", "ETH-USDC", "2m")


def test_vwap_counts_each_trade_once_over_the_range(db: Client) -> None:
    envelopes = synthetic_trades(count=500)
    store(db, envelopes[:300], token="first")
    store(db, envelopes, token="second")  # the first 300 again, in another block
    assert db.query("SELECT count() FROM trades").result_rows[0][0] == len(envelopes) + 300
    trades = trades_frame(envelopes)
    start, end = SYNTHETIC_START + 3_600_000, SYNTHETIC_START + 20 * 3_600_000
    window = trades[(trades.ms >= start) & (trades.ms < end) & (trades.pair == "BTC-USDT")]
    for exchange in (None, "kraken"):
        subset = window if exchange is None else window[window.exchange == exchange]
        (row,) = vwap(db, exchange, "BTC-USDT", start, end)
        assert row.exchange == (exchange or "all") and row.pair == "BTC-USDT"
        assert row.trades == len(subset)
        assert row.volume == pytest.approx(subset.amount.sum(), rel=1e-12)
        expected = (subset.price * subset.amount).sum() / subset.amount.sum()
        assert row.vwap == pytest.approx(expected, rel=1e-12)
        assert row.first_trade == subset.time.min().to_pydatetime()
        assert row.last_trade == subset.time.max().to_pydatetime()
    assert vwap(db, "coinbase", "BTC-USDT", start, end) == []


def test_top_volume_sums_a_days_trades_by_pair(db: Client) -> None:
    envelopes = synthetic_trades()
    now = int(time.time() * 1000)
    extra = Trade("coinbase", "SOL-USD", 150.0, 1.5, "1")
    store(db, [*envelopes, new_envelope(extra, source="t", event_time_ms=now,
                                        received_time_ms=now)])  # fmt: skip
    trades = trades_frame(envelopes)
    day = datetime.fromtimestamp((SYNTHETIC_START + 4 * 3_600_000) / 1000, UTC).date()
    on_day = trades[trades.time.dt.date == day]
    expected = on_day.groupby("pair").amount.sum().sort_values(ascending=False)
    got = top_volume(db, day)
    assert [r.pair for r in got] == list(expected.index)
    assert [r.volume for r in got] == pytest.approx(list(expected), rel=1e-12)
    assert [r.trades for r in got] == [int((on_day.pair == p).sum()) for p in expected.index]
    assert {r.exchanges for r in got} == {2}
    assert [r.pair for r in top_volume(db, day, limit=1)] == [expected.index[0]]
    assert [(r.pair, r.volume) for r in top_volume(db)] == [("SOL-USD", 1.5)]  # today (UTC)


def test_yield_opportunities_take_each_pools_latest_rate(db: Client) -> None:
    now = int(time.time() * 1000)
    rates = yield_rates(now)
    store(db, rates)
    store(db, rates[:4], token="again")  # duplicates in another block
    frame = pd.DataFrame(
        [(e.data.protocol, e.data.chain, e.data.pool, e.data.apy, e.data.tvl_usd,
          e.header.event_time_ms) for e in rates],
        columns=["protocol", "chain", "pool", "apy", "tvl_usd", "ms"],
    )  # fmt: skip
    latest = frame.sort_values("ms").groupby(["protocol", "chain", "pool"]).tail(1)
    chosen = latest[(latest.apy > 5.0) & (latest.tvl_usd > 1e6)].sort_values(
        ["apy", "protocol", "chain", "pool"], ascending=[False, True, True, True]
    )
    got = yield_opportunities(db)
    assert [(r.protocol, r.chain, r.pool, r.apy, r.tvl_usd) for r in got] == [
        tuple(row) for row in chosen[["protocol", "chain", "pool", "apy", "tvl_usd"]].values
    ]
    assert [r.pool for r in got] == ["usdc-lending", "usdc-lending", "wbtc-lending"]
    assert [r.pool for r in yield_opportunities(db, min_apy=6.9)] == ["usdc-lending"]
    assert {r.pool for r in yield_opportunities(db, min_tvl=0)} >= {"usdt-lending"}
    assert [r.pool for r in yield_opportunities(db, since=now - 4 * 60_000)] == [
        "wbtc-lending"
    ]  # only pools with a rate in the last 4 minutes: aave's latest ones are older


def test_spread_history_is_the_best_bid_and_ask_across_venues(db: Client) -> None:
    envelopes = quotes()
    store(db, envelopes)
    frame = pd.DataFrame(
        [(e.data.exchange, e.data.pair, e.header.event_time_ms, e.data.bid, e.data.ask)
         for e in envelopes if e.data.pair == "BTC-USDT"],
        columns=["exchange", "pair", "ms", "bid", "ask"],
    )  # fmt: skip
    frame["time"] = pd.to_datetime(frame.ms, unit="ms", utc=True)
    for bucket, rule in (("1m", "1min"), ("2m", "2min"), ("30s", "30s")):
        frame["bucket"] = frame.time.dt.floor(rule)
        last = frame.sort_values("ms").groupby(["bucket", "exchange"]).tail(1)
        rows = []
        for when, group in last.groupby("bucket"):
            bid, ask = group.loc[group.bid.idxmax()], group.loc[group.ask.idxmin()]
            rows.append((when, bid.bid, bid.exchange, ask.ask, ask.exchange, len(group)))
        expected = [r for r in rows if r[5] >= 2]
        got = spread_history(db, "btc-usdt", bucket=bucket)
        assert [(pd.Timestamp(r.time), r.best_bid, r.best_bid_exchange, r.best_ask,
                 r.best_ask_exchange, r.venues) for r in got] == expected  # fmt: skip
        for r in got:
            assert r.spread == pytest.approx(r.best_ask - r.best_bid)
            mid = (r.best_ask + r.best_bid) / 2
            assert r.spread_bps == pytest.approx((r.best_ask - r.best_bid) / mid * 1e4)
    three = spread_history(db, "BTC-USDT", min_venues=3)
    assert three and all(r.venues == 3 for r in three)
    with pytest.raises(ValueError, match="not a duration"):
        spread_history(db, "BTC-USDT", bucket="0m")


def test_freshness_per_table_source_and_venue(db: Client) -> None:
    now = int(time.time() * 1000)
    recent = [
        Trade("binance", "ETH-USDC", 3000.0, 1.0, str(n)) for n in range(3)
    ]  # fmt: skip
    trades = [new_envelope(t, source="binance-ws", event_time_ms=now - 60_000 + n,
                           received_time_ms=now) for n, t in enumerate(recent)]  # fmt: skip
    old = new_envelope(Trade("kraken", "BTC-USD", 60000.0, 1.0), source="kraken-ws",
                       event_time_ms=now - 3_600_000, received_time_ms=now)  # fmt: skip
    price = new_envelope(PriceUpdate("binance", "ETH-USDC", 3000.0), source="binance-ws",
                         event_time_ms=now - 20 * 60_000, received_time_ms=now)  # fmt: skip
    store(db, [*trades, old, price, *yield_rates(now)[:2]])
    store(db, trades[:2], token="again")
    got = {(r.table, r.source, r.venue): r for r in freshness(db)}
    assert set(got) == {
        ("trades", "binance-ws", "binance"), ("trades", "kraken-ws", "kraken"),
        ("prices", "binance-ws", "binance"), ("yields", "aave-v3-test", "aave-v3"),
    }  # fmt: skip
    binance = got["trades", "binance-ws", "binance"]
    assert binance.last_event == datetime.fromtimestamp((now - 60_000 + 2) / 1000, UTC)
    assert binance.rows_5m == 3  # duplicates counted once
    assert 55 < binance.age_s < 600
    assert got["trades", "kraken-ws", "kraken"].rows_5m == 0
    assert got["yields", "aave-v3-test", "aave-v3"].age_s == pytest.approx(
        got["trades", "kraken-ws", "kraken"].age_s - 50 * 60, abs=5
    )


def test_every_query_answers_an_empty_database_with_no_rows(db: Client) -> None:
    args = {"ohlcv": {"exchange": "binance", "pair": "ETH-USDC"}, "vwap": {"pair": "ETH-USDC"},
            "spread-history": {"pair": "ETH-USDC"}}  # fmt: skip
    for name, query in QUERIES.items():
        assert query.run(db, args.get(name, {})) == [], name
        assert list(query.frame([]).columns) == list(query.columns)
