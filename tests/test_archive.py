"""Archival on the embedded ClickHouse: a day of rows stored 10 days ago is written to Parquet
(exactly those rows, a duplicate once), again identically; a too-young day is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import pandas as pd
import pytest

from assets.archive import raw_tables
from lucent_platform.analytics import migrate
from lucent_platform.analytics.archive import NotArchivable, archive_path, check_window
from lucent_platform.analytics.schema import TABLES
from lucent_platform.config import Settings, with_overrides
from resources import ClickHouseResource, StorageResource

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

    from tests.fixtures.clickhouse import EmbeddedClickHouse

TODAY = datetime.now(UTC).date()
OLD = TODAY - timedelta(days=10)


def at(day: date, hour: int, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, second, tzinfo=UTC)


def test_the_window_is_after_the_age_and_before_the_ttl() -> None:
    assert check_window(OLD, TODAY, after_days=7, ttl_days=30).days_before_ttl == 20
    assert not check_window(TODAY - timedelta(days=31), TODAY, after_days=7, ttl_days=30).complete
    assert check_window(OLD, TODAY, after_days=7, ttl_days=0).complete  # kept forever
    with pytest.raises(NotArchivable, match="6 day"):
        check_window(TODAY - timedelta(days=6), TODAY, after_days=7, ttl_days=30)
    with pytest.raises(NotArchivable, match="must be below"):
        check_window(OLD, TODAY, after_days=30, ttl_days=30)


def test_a_day_of_raw_rows_is_archived_and_archived_again_the_same(
    clickhouse: Client,
    settings: Settings,
    clickhouse_server: EmbeddedClickHouse,
    tmp_path: Path,
) -> None:
    migrate(clickhouse, with_overrides(settings, clickhouse_database=clickhouse.database))
    columns = ["message_id", "event_time", "received_time", "source", "inserted_at", "exchange",
               "pair", "price", "amount", "trade_id", "side"]  # fmt: skip
    stored_old = [
        ["t1", at(OLD, 3), at(OLD, 3), "s", at(OLD, 3, 1), "binance", "BTC-USDT", 100.0, 1.0,
         "1", "buy"],
        ["t2", at(OLD, 2), at(OLD, 2), "s", at(OLD, 23, 59), "kraken", "BTC-USDT", 101.0, 2.0,
         "2", None],
        # replayed history: an event of 2021 stored on the old day is archived with that day
        ["t3", at(date(2021, 1, 1), 0), at(OLD, 5), "s", at(OLD, 5), "binance", "ETH-USDT",
         700.0, 3.0, "3", "sell"],
    ]  # fmt: skip
    other_days = [
        ["t4", at(OLD, 22), at(OLD, 22), "s", at(OLD + timedelta(days=1), 0), "binance",
         "BTC-USDT", 102.0, 1.0, "4", "buy"],  # stored the next day
        ["t5", at(TODAY, 0), at(TODAY, 0), "s", at(TODAY, 0), "binance", "BTC-USDT", 103.0, 1.0,
         "5", "buy"],
    ]  # fmt: skip
    clickhouse.insert("trades", stored_old + other_days, column_names=columns)
    clickhouse.insert("trades", [stored_old[0]], column_names=columns)  # a duplicate
    clickhouse.insert("prices", [["p1", at(OLD, 1), at(OLD, 1), "s", at(OLD, 1), "binance",
                                  "BTC-USDT", 100.5]],
                      column_names=[*columns[:7], "price"])  # fmt: skip
    resources = {
        "clickhouse": ClickHouseResource(url=clickhouse_server.url, database=clickhouse.database),
        "storage": StorageResource(data_dir=str(tmp_path)),
    }
    files = []
    for _ in range(2):
        result = dg.materialize([raw_tables], partition_key=str(OLD), resources=resources)
        assert result.success
        trades = pd.read_parquet(archive_path(tmp_path, "trades", OLD))
        files.append(trades)
        # the table's order (exchange, pair, event_time, message_id), each row once
        assert trades["message_id"].tolist() == ["t1", "t3", "t2"]
        assert trades["amount"].tolist() == [1.0, 3.0, 2.0]
        assert trades["side"].fillna("unknown").tolist() == ["buy", "sell", "unknown"]
        meta = result.asset_materializations_for_node("archive__raw_tables")[0].metadata
        assert meta["rows"].value == {**dict.fromkeys(TABLES, 0), "trades": 3, "prices": 1}
        assert meta["days before TTL"].value == 20 and meta["complete"].value is True
    pd.testing.assert_frame_equal(files[0], files[1])
    prices = pd.read_parquet(archive_path(tmp_path, "prices", OLD))
    assert prices["message_id"].tolist() == ["p1"] and prices["price"].tolist() == [100.5]
    assert all(archive_path(tmp_path, t, OLD).exists() for t in TABLES)

    young = dg.materialize([raw_tables], partition_key=str(TODAY - timedelta(days=2)),
                           resources=resources, raise_on_error=False)  # fmt: skip
    assert not young.success
