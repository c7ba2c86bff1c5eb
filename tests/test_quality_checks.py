"""The data-quality checks' pure core on DataFrames: good rows pass, bad rows are counted
exactly and sampled (great-expectations runs every expectation)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from lucent_platform.analytics.queries.freshness import VENUE
from lucent_platform.quality import candles, sources, values, venues
from lucent_platform.quality.config import quality_config
from lucent_platform.quality.expectations import Above, NotAbove, validate
from lucent_platform.quality.outcome import markdown_table

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def minutes(*offsets: int) -> list[pd.Timestamp]:
    return [pd.Timestamp(NOW + timedelta(minutes=m)) for m in offsets]


def test_price_positive_counts_zero_and_negative_prices_and_samples_them() -> None:
    rows = pd.DataFrame({
        "message_id": ["a", "b", "c", "d", "e"],
        "price": [100.0, 0.0, 101.0, -5.0, 99.5],
    })  # fmt: skip
    result = values.price_positive(rows)
    assert (result.passed, result.checked, result.failing) == (False, 5, 2)
    assert list(result.sample["message_id"]) == ["b", "d"]
    assert result.figures["price > 0"] == 2
    assert result.summary == "2 of 5 rows break price > 0"
    assert values.price_positive(rows[rows["price"] > 0]).passed


def test_bid_above_ask_fails_but_locked_and_one_sided_quotes_pass() -> None:
    rows = pd.DataFrame({
        "message_id": ["ok", "locked", "crossed", "no-bid", "no-ask", "crossed2"],
        "bid": [99.0, 100.0, 101.0, None, 98.0, 5.0],
        "ask": [100.0, 100.0, 100.0, 100.0, None, 4.0],
    })  # fmt: skip
    result = values.bid_not_above_ask(rows)
    assert result.failing == 2
    assert list(result.sample["message_id"]) == ["crossed", "crossed2"]


def test_duplicate_message_ids_count_every_copy_together() -> None:
    rows = pd.DataFrame({"message_id": ["x", "y", "x", "z", "y", "x"], "n": range(6)})
    result = values.unique_message_ids(rows)
    assert result.failing == 5
    assert list(result.sample["message_id"]) == ["x", "x", "x", "y", "y"]
    assert values.unique_message_ids(rows.drop_duplicates("message_id")).passed


def test_ohlcv_consistency_names_each_broken_rule() -> None:
    frame = pd.DataFrame({
        "open": [10.0, 10.0, 12.0, 10.0, 10.0],
        "high": [12.0, 12.0, 11.0, 12.0, 12.0],
        "low": [9.0, 9.0, 9.0, 11.0, 9.0],
        "close": [11.0, 13.0, 10.0, 11.5, 11.0],
        "volume": [1.0, 1.0, 1.0, 1.0, -0.5],
    })  # fmt: skip
    result = candles.ohlcv_consistent(frame)
    assert result.failing == 4  # rows 1 (close > high), 2 (open > high), 3 (low > open), 4
    assert result.figures["close ≤ high"] == 1
    assert result.figures["open ≤ high"] == 1
    assert result.figures["low ≤ open"] == 1
    assert result.figures["volume ≥ 0"] == 1
    assert candles.ohlcv_consistent(frame.drop(columns="volume").iloc[[0, 4]]).passed


def test_gaps_between_stored_candles_are_counted_per_instrument_and_interval() -> None:
    frame = pd.DataFrame({
        "exchange": ["binance"] * 5 + ["kraken"] * 3,
        "pair": ["BTC-USDT"] * 5 + ["ETH-USDT"] * 3,
        "interval": ["1m"] * 5 + ["1h"] * 3,
        # binance: 0,1,2 then 5 (3 and 4 missing), then 6; kraken hourly: 0, 60, 240 (2 missing)
        "open_time": minutes(0, 1, 2, 5, 6) + minutes(0, 60, 240),
    })  # fmt: skip
    result = candles.no_candle_gaps(frame.sample(frac=1, random_state=3))  # order does not matter
    assert (result.checked, result.failing) == (6, 2)
    assert result.figures["missing_candles"] == 4
    sample = result.sample.set_index("exchange")
    assert sample.loc["binance", "missing"] == 2
    assert sample.loc["binance", "previous"] == pd.Timestamp(NOW + timedelta(minutes=2))
    assert sample.loc["kraken", "missing"] == 2
    assert candles.no_candle_gaps(frame.iloc[:3]).passed


def test_candle_intervals_are_fixed_timeframes() -> None:
    assert candles.interval_ms("15m") == 900_000
    assert candles.interval_ms("4h") == 14_400_000
    assert candles.interval_ms("1w") == 7 * 86_400_000
    for bad in ("1M", "0m", "m", "1y"):
        with pytest.raises(ValueError):
            candles.interval_ms(bad)


def test_a_venue_far_from_the_median_fails_per_pair_and_minute() -> None:
    t0, t1 = minutes(0, 1)
    prices = pd.DataFrame({
        "minute": [t0, t0, t0, t1, t1, t1, t0],
        "pair": ["BTC-USDT"] * 6 + ["ETH-USDT"],
        "exchange": ["binance", "coinbase", "kraken"] * 2 + ["binance"],
        "price": [60_000.0, 60_030.0, 60_900.0, 60_000.0, 60_010.0, 60_020.0, 3000.0],
    })  # fmt: skip
    result = venues.venues_agree(prices, max_bps=100)
    # kraken at t0 is 145 bps above the median (60 030); ETH at t0 has one venue: not compared
    assert (result.checked, result.failing) == (6, 1)
    row = result.sample.iloc[0]
    assert row["exchange"] == "kraken" and row["median"] == 60_030.0
    assert row["deviation_bps"] == pytest.approx((60_900 / 60_030 - 1) * 10_000)
    assert venues.venues_agree(prices, max_bps=150).passed
    assert venues.venues_agree(prices, max_bps=100, min_venues=4).checked == 0


def test_freshness_flags_old_and_missing_venues() -> None:
    newest = pd.DataFrame({
        "venue": ["binance", "coinbase"],
        "last_event": [NOW - timedelta(seconds=30), NOW - timedelta(minutes=10)],
    })  # fmt: skip
    result = sources.fresh_sources(
        newest, now=NOW, max_age_s=120, expected=["binance", "coinbase", "kraken"]
    )
    assert (result.checked, result.failing) == (3, 2)
    assert list(result.sample["venue"]) == ["kraken", "coinbase"]  # oldest first
    assert math.isinf(result.sample.iloc[0]["age_s"])
    assert result.sample.iloc[1]["age_s"] == 600
    assert sources.fresh_sources(newest, now=NOW, max_age_s=601).passed


def test_failure_rate_per_kind_and_venue_from_dead_letter_topics() -> None:
    accepted = pd.DataFrame({
        "table": ["prices", "prices", "trades", "yields", "orderbook_top"],
        "venue": ["binance", "kraken", "binance", "aave-v3", "binance"],
        "rows": [990, 100, 50, 20, 5],
    })  # fmt: skip
    dead = pd.DataFrame({
        "source_topic": [
            "market.prices.binance.btc-usdt", "market.prices.binance.eth-usdt",
            "market.prices.kraken.btc-usdt", "market.yields.aave-v3.usdc",
            "market.orderbook.binance.btc-usdt", "garbage",
        ],
        "rows": [6, 4, 25, 1, 50, 2],
    })  # fmt: skip
    result = sources.failure_rate(accepted, dead, max_rate=0.05)
    table = result.sample.set_index(["kind", "venue"])
    # kraken prices 25 / 125 = 20 %, the unknown topic 2 / 2; binance prices 10 / 1000 = 1 %,
    # aave-v3 1 / 21 ≈ 4.8 %, binance trades 0 %; order books are not rated
    assert (result.checked, result.failing) == (5, 2)
    assert table.loc[("prices", "kraken"), "rate"] == pytest.approx(0.2)
    assert table.loc[("unknown", "garbage"), "dead"] == 2
    assert result.figures["dead_letters"] == 38 and result.figures["accepted"] == 1160
    assert sources.failure_rate(accepted, dead.iloc[:2], max_rate=0.05).passed


def test_empty_windows_pass_with_nothing_checked() -> None:
    empty = pd.DataFrame({"price": pd.Series([], dtype=float)})
    assert values.price_positive(empty).checked == 0
    nothing = pd.DataFrame(columns=["exchange", "pair", "interval", "open_time"])
    assert candles.no_candle_gaps(nothing).passed
    no_rows = pd.DataFrame(columns=["table", "venue", "rows"])
    no_letters = pd.DataFrame(columns=["source_topic", "rows"])
    assert sources.failure_rate(no_rows, no_letters, max_rate=0.01).checked == 0
    assert venues.venues_agree(pd.DataFrame(columns=venues.COLUMNS[:4]), max_bps=1).passed


def test_a_missing_column_is_an_error_not_a_pass() -> None:
    with pytest.raises(RuntimeError, match="nope"):
        validate(pd.DataFrame({"x": [1.0]}), [Above("nope", 0), NotAbove("x", "x")])


def test_sample_table_is_markdown_with_escaped_cells() -> None:
    frame = pd.DataFrame(
        {"a": ["x|y", None], "t": [pd.Timestamp(NOW), pd.NaT], "v": [1.5, math.inf]}
    )
    assert markdown_table(frame).splitlines() == [
        "| a | t | v |", "|---|---|---|",
        "| x\\|y | 2026-11-28 12:00:00.000+00:00 | 1.5 |", "|  |  | ∞ |",
    ]  # fmt: skip


def test_quality_config_merges_bounds_and_rejects_unknown_names() -> None:
    config = quality_config({"max_age_s": {"trades": 60}, "severity": {"venues_agree": "ERROR"}})
    assert config.max_age_s == {"prices": 120.0, "trades": 60.0, "yields": 1800.0}
    assert config.severity_of("venues_agree", "WARN") == "ERROR"
    for bad in ({"windows": 1}, {"severity": {"nope": "WARN"}}, {"max_age_s": {"governance": 1}},
                {"max_failure_rate": 2}):  # fmt: skip
        with pytest.raises(ValueError):
            quality_config(bad)


def test_bridge_and_pool_swap_dead_letters_are_rated_per_l2_and_chain() -> None:
    accepted = pd.DataFrame({
        "table": ["bridge_transfers", "pool_swaps"], "venue": ["optimism", "ethereum"],
        "rows": [19, 90],
    })  # fmt: skip
    dead = pd.DataFrame({
        "source_topic": ["market.bridges.optimism", "market.swaps.ethereum"], "rows": [1, 10],
    })  # fmt: skip
    table = sources.rates(accepted, dead).set_index(["kind", "venue"])
    assert table.loc[("bridges", "optimism"), "rate"] == pytest.approx(0.05)
    assert table.loc[("swaps", "ethereum"), "rate"] == pytest.approx(0.1)
    assert set(sources.KIND_OF_TABLE) >= {"bridge_transfers", "pool_swaps"}
    assert {t: VENUE[t] for t in ("bridge_transfers", "pool_swaps")} == {
        "bridge_transfers": "l2",
        "pool_swaps": "chain",
    }
