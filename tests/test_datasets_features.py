"""Training-dataset features, labels and split, pure: figures computed by hand, point-in-time
correctness, the per-bar reduction, the embargo."""

from __future__ import annotations

import math
import statistics

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lucent_platform.datasets.build import build_rows, by_time
from lucent_platform.datasets.config import dataset_config
from lucent_platform.datasets.features import QuoteTick, TradeFlow, YieldTick, feature_names
from lucent_platform.datasets.split import EMBARGO, TEST, TRAIN, VALIDATION, time_split
from tests.dataset_ticks import random_ticks, reduce_per_bar

SMALL = dataset_config(
    {"interval": "1s", "horizons": [1, 2], "return_lags": [1], "spans": [2],
     "volatility_window": 2, "volume_window": 2, "quote_ttl_ms": 1500, "warmup_bars": 2}
)  # fmt: skip
CONFIG = dataset_config(
    {"interval": "1s", "horizons": [1, 3], "return_lags": [1, 3], "spans": [3, 5],
     "volatility_window": 4, "volume_window": 3, "quote_ttl_ms": 800, "warmup_bars": 5}
)  # fmt: skip
NAN = float("nan")


def scripted() -> pd.DataFrame:
    quotes = [
        QuoteTick("a", 100, 100.0, 99.0, 101.0, 3.0, 1.0),
        QuoteTick("b", 200, 102.0, 101.5, 102.5, 1.0, 1.0, 4.0, 2.0),
        QuoteTick("a", 1200, 104.0, 103.0, 105.0),
        QuoteTick("b", 2500, 108.0, 107.0, 109.0),
    ]
    trades = [TradeFlow(300, 2.0, "buy"), TradeFlow(400, 1.0, "sell")]
    yields = [
        YieldTick("aave/eth/btc", "BTC", 500, 2.0),
        YieldTick("comp/eth/btc", "BTC", 500, 4.0),
        YieldTick("aave/eth/usdt", "USDT", 500, 5.0),
    ]
    ticks = by_time(quotes, trades, yields)
    return build_rows(SMALL, "BTC-USDT", ticks, start_ms=0, end_ms=5000, label_end_ms=4000)


def test_a_scripted_market_gives_the_figures_computed_by_hand() -> None:
    frame = scripted().set_index("time")
    assert list(frame.index) == [1000, 2000, 3000, 4000]
    first, second, third = frame.loc[1000], frame.loc[2000], frame.loc[3000]
    # bar 1 ends at 1000: both venues current, mids 100 and 102
    assert first["close"] == 101.0
    assert math.isnan(first["ret_1"]) and math.isnan(first["sma_gap_2"])
    assert first["venues"] == 2
    assert first["cross_spread_bps"] == pytest.approx((101.5 - 101.0) / 101.0 * 1e4)
    assert first["quoted_spread_bps"] == pytest.approx((200.0 + 1 / 102 * 1e4) / 2)
    assert first["top_imbalance"] == pytest.approx((4 - 2) / 6)
    assert first["depth_imbalance"] == pytest.approx((4 - 2) / 6)  # only b has depth
    assert (first["volume"], first["trades"]) == (3.0, 2.0)
    assert math.isnan(first["volume_ratio"])
    assert first["trade_imbalance"] == pytest.approx(1 / 3)
    assert (first["base_apy"], first["quote_apy"]) == (3.0, 5.0)
    # bar 2 ends at 2000: b's quote (200) is 1800 ms old, past the 1500 ms TTL
    assert second["close"] == 104.0 and second["venues"] == 1
    assert second["ret_1"] == pytest.approx(math.log(104 / 101))
    assert second["sma_gap_2"] == pytest.approx(104 / 102.5 - 1)
    assert second["ema_gap_2"] == pytest.approx(104 / (101 + 2 / 3 * 3) - 1)
    assert math.isnan(second["cross_spread_bps"]) and math.isnan(second["top_imbalance"])
    assert (second["volume"], second["volume_ratio"]) == (0.0, 0.0)
    # bar 3: a is stale (1800 ms), b's new quote counts
    assert third["close"] == 108.0
    expected_vol = statistics.stdev([math.log(104 / 101), math.log(108 / 104)])
    assert third["volatility"] == pytest.approx(expected_vol)
    # labels: forward log returns by time, NaN where the bar ahead is unknown
    assert first["ret_fwd_1"] == pytest.approx(math.log(104 / 101))
    assert first["ret_fwd_2"] == pytest.approx(math.log(108 / 101))
    assert (first["up_1"], first["up_2"]) == (1.0, 1.0)
    assert (third["ret_fwd_1"], third["up_1"]) == (0.0, 0.0)
    assert math.isnan(third["ret_fwd_2"]) and math.isnan(third["up_2"])


def test_late_input_is_counted_and_ignored() -> None:
    from lucent_platform.datasets.features import PairFeatures

    features = PairFeatures("BTC-USDT", SMALL)
    features.add_quote(QuoteTick("a", 100, 100.0))
    assert [r["time"] for r in features.add_quote(QuoteTick("a", 1500, 101.0))] == [1000]
    assert [r["time"] for r in features.add_quote(QuoteTick("a", 2100, 101.0))] == [2000]
    rows = features.add_quote(QuoteTick("a", 5000, 101.0))  # 4000: 1900 ms since a quote
    assert [r["time"] for r in rows] == [3000]
    features.add_trades(TradeFlow(1500, 1.0, "buy"))  # its bar (ending 2000) is closed
    assert features.late == 1


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), cut_s=st.integers(5, 55))
def test_future_rows_never_change_past_features(seed: int, cut_s: int) -> None:
    quotes, trades, yields = random_ticks(seed, seconds=60)
    cut = cut_s * 1000 + 1  # not on a bar boundary
    full = build_rows(CONFIG, "BTC-USDT", by_time(quotes, trades, yields),
                      start_ms=0, end_ms=70_000, label_end_ms=70_000)  # fmt: skip
    past = build_rows(
        CONFIG,
        "BTC-USDT",
        by_time(*([t for t in ticks if t.event_ms < cut] for ticks in (quotes, trades, yields))),
        start_ms=0,
        end_ms=70_000,
        label_end_ms=cut,
    )
    names = ["time", "close", *feature_names(CONFIG)]
    known = full[full["time"] <= cut][names].reset_index(drop=True)
    assert len(known) > 0
    pd.testing.assert_frame_equal(past[names], known)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_the_per_bar_reduction_gives_the_rows_of_every_update(seed: int) -> None:
    ticks = random_ticks(seed, seconds=60)
    every = build_rows(CONFIG, "BTC-USDT", by_time(*ticks), start_ms=0, end_ms=60_000,
                       label_end_ms=60_000)  # fmt: skip
    reduced = build_rows(CONFIG, "BTC-USDT", by_time(*reduce_per_bar(ticks, 1000)),
                         start_ms=0, end_ms=60_000, label_end_ms=60_000)  # fmt: skip
    assert len(every) > 50
    pd.testing.assert_frame_equal(reduced, every)


def test_the_split_is_by_time_with_an_embargo_of_the_largest_horizon() -> None:
    times = list(range(0, 100_000, 1000))
    parts = time_split(times, validation_fraction=0.2, test_fraction=0.1, embargo_ms=5000,
                       bar_ms=1000)  # fmt: skip
    part_at = dict(zip(times, parts, strict=True))
    assert parts.count(TEST) == 10 and parts.count(VALIDATION) == 15  # 20 minus 5 embargoed
    assert parts.count(TRAIN) == 65 and parts.count(EMBARGO) == 10
    order = [p for p in parts if p != EMBARGO]
    assert order == sorted(order, key=[TRAIN, VALIDATION, TEST].index)  # by time
    for t, part in part_at.items():  # no label window reaches into a later part
        if part == TRAIN:
            assert part_at[t + 5000] in (TRAIN, EMBARGO)
        elif part == VALIDATION:
            assert part_at[t + 5000] in (VALIDATION, EMBARGO)
