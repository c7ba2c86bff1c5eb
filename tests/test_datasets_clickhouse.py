"""Training datasets from the embedded ClickHouse: the per-bar queries give the rows computed
from every update, and the Dagster asset writes a day's Parquet file, table rows and card."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import pandas as pd
import pytest

from assets.datasets import features
from lucent_platform.analytics import migrate
from lucent_platform.config import Settings, with_overrides
from lucent_platform.datasets import store
from lucent_platform.datasets.build import build_rows, by_time
from lucent_platform.datasets.config import DatasetConfig, dataset_config
from lucent_platform.datasets.day import build_day, day_range_ms
from resources import ClickHouseResource, StorageResource
from tests.dataset_ticks import Ticks, random_ticks

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

    from tests.fixtures.clickhouse import EmbeddedClickHouse

DAY = date(2026, 11, 20)
START, END = day_range_ms(DAY)
JSON_CONFIG = {
    "interval": "1m", "horizons": [1, 5], "return_lags": [1, 3], "spans": [3, 5],
    "volatility_window": 4, "volume_window": 3, "warmup_bars": 10, "pairs": ["BTC-USDT"],
}  # fmt: skip
CONFIG = dataset_config(JSON_CONFIG)


@pytest.fixture(scope="module")
def ticks() -> Ticks:
    """35 minutes of a market from 5 minutes before the day (warm-up) into it."""
    return random_ticks(11, seconds=35 * 60, start_ms=START - 5 * 60_000)


@pytest.fixture
def db(clickhouse: Client, settings: Settings, ticks: Ticks) -> Client:
    migrate(clickhouse, with_overrides(settings, clickhouse_database=clickhouse.database))
    insert(clickhouse, ticks)
    return clickhouse


def insert(client: Client, ticks: Ticks) -> None:
    quotes, trades, yields = ticks
    at = lambda ms: pd.Timestamp(ms, unit="ms", tz="UTC").to_pydatetime()  # noqa: E731
    prices = [
        [f"q{i}", at(q.event_ms), at(q.event_ms), "test", q.exchange, "BTC-USDT", q.price, q.bid,
         q.ask, q.bid_size, q.ask_size, q.depth_bid, q.depth_ask]
        for i, q in enumerate(quotes)
    ]  # fmt: skip
    prices.append(prices[100])  # an at-least-once duplicate: read FINAL, it counts once
    prices.append(["other", at(START), at(START), "test", "binance", "ETH-USDT", 1.0, 1.0, 1.0,
                   None, None, None, None])  # another pair: not in the BTC-USDT rows # fmt: skip
    client.insert("prices", prices, column_names=[
        "message_id", "event_time", "received_time", "source", "exchange", "pair", "price", "bid",
        "ask", "bid_size", "ask_size", "depth_bid_size", "depth_ask_size"])  # fmt: skip
    client.insert("trades", [
        [f"t{i}", at(t.event_ms), at(t.event_ms), "test", "binance", "BTC-USDT", 100.0, t.amount,
         str(i), t.side] for i, t in enumerate(trades)
    ], column_names=["message_id", "event_time", "received_time", "source", "exchange", "pair",
                     "price", "amount", "trade_id", "side"])  # fmt: skip
    client.insert("yields", [
        [f"y{i}", at(y.event_ms), at(y.event_ms), "test", *y.pool.split("/")[::2], y.asset,
         y.pool.split("/")[1], y.apy] for i, y in enumerate(yields)
    ], column_names=["message_id", "event_time", "received_time", "source", "protocol", "pool",
                     "asset", "chain", "apy"])  # fmt: skip


def expected(ticks: Ticks, config: DatasetConfig = CONFIG) -> pd.DataFrame:
    """The day's rows computed from every update in memory, without ClickHouse."""
    return build_rows(config, "BTC-USDT", by_time(*ticks), start_ms=START, end_ms=END,
                      label_end_ms=END + config.embargo_ms)  # fmt: skip


def test_a_day_built_from_clickhouse_equals_the_rows_of_every_update(
    db: Client, ticks: Ticks
) -> None:
    built = build_day(db, db.database, CONFIG, DAY)
    assert len(built) == 31  # bars ending at 00:00 … 00:30 have quotes
    assert built["volume"].sum() > 0 and built["base_apy"].notna().any()
    pd.testing.assert_frame_equal(built, expected(ticks))


def test_the_asset_writes_parquet_the_table_and_a_card_and_rewrites_them_the_same(
    db: Client,
    ticks: Ticks,
    clickhouse_server: EmbeddedClickHouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LUCENT_DATASET_CONFIG", json.dumps(JSON_CONFIG))
    resources = {
        "clickhouse": ClickHouseResource(url=clickhouse_server.url, database=db.database),
        "storage": StorageResource(data_dir=str(tmp_path)),
    }
    run_config = {"ops": {"datasets__features": {"config": {"horizons": [1, 2]}}}}
    want = expected(ticks, dataset_config({**JSON_CONFIG, "horizons": [1, 2]}))
    for _ in range(2):  # the second run rewrites the same file and rows
        result = dg.materialize([features], partition_key=str(DAY), resources=resources,
                                run_config=run_config)  # fmt: skip
        assert result.success
        path = store.parquet_path(tmp_path, "1m", DAY)
        pd.testing.assert_frame_equal(pd.read_parquet(path), want)
        stored = db.query(
            "SELECT count(), countIf(isNaN(labels['ret_fwd_2'])), sum(features['volume']) "
            "FROM dataset_features"
        ).result_rows[0]
        assert stored[0] == 31 and stored[1] == 2  # the last two bars have no bar 2 ahead
        assert stored[2] == pytest.approx(want["volume"].sum())
    meta = result.asset_materializations_for_node("datasets__features")[0].metadata
    assert meta["rows"].value == 31
    # 31 bars: test round(4.65) = 5, validation 5 of which 2 embargoed (horizon 2), train 21
    # of which 2 embargoed
    assert meta["split"].value == {"train": 19, "validation": 3, "test": 5, "embargo": 4}
    assert "ret_1" in meta["features"].value and "base_apy" in meta["features"].value
    assert "| 2 | 29 |" in meta["card"].value  # horizon 2: 29 labels known
    assert set(meta["label balance"].value) == {"up share h=1", "up share h=2"}


def test_a_range_of_days_runs_once_writing_a_file_per_day_and_one_card(
    clickhouse: Client,
    settings: Settings,
    clickhouse_server: EmbeddedClickHouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    migrate(clickhouse, with_overrides(settings, clickhouse_database=clickhouse.database))
    ticks = random_ticks(12, seconds=40 * 60, start_ms=END - 20 * 60_000)  # across midnight
    insert(clickhouse, ticks)
    # a warm-up reaching back to the first tick: the second day starts from the state a
    # continuous run has at midnight (a shorter one leaves the EMAs slightly off there)
    warm = {**JSON_CONFIG, "warmup_bars": 30}
    monkeypatch.setenv("LUCENT_DATASET_CONFIG", json.dumps(warm))
    resources = {
        "clickhouse": ClickHouseResource(url=clickhouse_server.url, database=clickhouse.database),
        "storage": StorageResource(data_dir=str(tmp_path)),
    }
    next_day = date(2026, 11, 21)
    result = dg.materialize([features], resources=resources, tags={
        "dagster/asset_partition_range_start": str(DAY),
        "dagster/asset_partition_range_end": str(next_day)})  # fmt: skip
    assert result.success
    first = pd.read_parquet(store.parquet_path(tmp_path, "1m", DAY))
    second = pd.read_parquet(store.parquet_path(tmp_path, "1m", next_day))
    assert first["time"].max() < END <= second["time"].min()
    everything = build_rows(dataset_config(warm), "BTC-USDT", by_time(*ticks), start_ms=START,
                            end_ms=END + 86_400_000, label_end_ms=END + 86_400_000)  # fmt: skip
    pd.testing.assert_frame_equal(pd.concat([first, second], ignore_index=True), everything)
    # one run, one materialization per day of the range, each with the range's card
    materializations = result.asset_materializations_for_node("datasets__features")
    assert sorted(m.partition for m in materializations) == [str(DAY), str(next_day)]
    for m in materializations:
        assert m.metadata["rows"].value == len(everything)
        assert m.metadata["split"].value["test"] > 0
