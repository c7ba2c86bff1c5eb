"""The analytics schema's migrations on the embedded server: applied once, in order, guarded
by checksums, with TTLs and the ingest mode following settings."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from lucent_platform.adapters.clickhouse import connect
from lucent_platform.analytics import MigrationError, migrate
from lucent_platform.analytics.candles import CANDLE_TABLES
from lucent_platform.analytics.migrate import applied_versions, load_migrations
from lucent_platform.analytics.schema import TABLES
from lucent_platform.config import Settings, with_overrides

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

    from tests.fixtures.clickhouse import EmbeddedClickHouse


@pytest.fixture
def db_settings(settings: Settings, clickhouse: Client) -> Settings:
    """Settings whose analytics database is this test's own."""
    return with_overrides(settings, clickhouse_database=clickhouse.database)


def tables(client: Client) -> set[str]:
    rows = client.query(
        "SELECT name FROM system.tables WHERE database = {db:String}",
        parameters={"db": client.database},
    ).result_rows
    return {name for (name,) in rows}


def test_migrate_applies_every_migration_once(clickhouse: Client, db_settings: Settings) -> None:
    steps = migrate(clickhouse, db_settings)
    labels = [step.what for step in steps]
    assert labels[:4] == ["database", "0001_raw_tables", "0002_candles", "0003_quote_candles"]
    assert {f"ttl {table}" for table in TABLES} <= set(labels)  # raw tables: 30 days
    assert not any(label.startswith(("ttl market_data", "ttl quote")) for label in labels)
    expected = set(TABLES) | set(CANDLE_TABLES) | {"schema_migrations"}
    expected |= {f"{table}_mv" for table in CANDLE_TABLES}
    expected |= {"yields_latest", "yields_latest_mv"}
    expected |= {"dataset_features"}  # 0009: training datasets
    expected |= {"ohlcv_history", "trades_history"}  # 0008: historical backfills
    assert tables(clickhouse) == expected
    assert migrate(clickhouse, db_settings) == []  # the second run is a no-op
    recorded = applied_versions(clickhouse, clickhouse.database)
    assert recorded == {m.version: (m.name, m.checksum) for m in load_migrations()}


def test_dry_run_changes_nothing(clickhouse: Client, db_settings: Settings) -> None:
    steps = migrate(clickhouse, db_settings, dry_run=True)
    assert [s.what for s in steps][:3] == ["database", "0001_raw_tables", "0002_candles"]
    assert any("CREATE TABLE IF NOT EXISTS" in sql for s in steps for sql in s.statements)
    assert tables(clickhouse) == set()


def test_the_tables_have_the_catalog_columns(clickhouse: Client, db_settings: Settings) -> None:
    migrate(clickhouse, db_settings)
    for table, columns in TABLES.items():
        described = clickhouse.query(
            "SELECT name, type FROM system.columns WHERE database = {db:String} "
            "AND table = {t:String} AND name != 'inserted_at' ORDER BY position",
            parameters={"db": clickhouse.database, "t": table},
        ).result_rows
        assert described == [(c.name, c.type) for c in columns], table


def test_a_changed_migration_is_refused(clickhouse: Client, db_settings: Settings) -> None:
    migrate(clickhouse, db_settings)
    clickhouse.insert(
        "schema_migrations",
        [[1, "raw_tables", "0" * 64]],
        column_names=["version", "name", "checksum"],
    )
    with pytest.raises(MigrationError, match="0001_raw_tables changed after it was applied"):
        migrate(clickhouse, db_settings)


def test_a_migration_from_a_newer_version_is_refused(
    clickhouse: Client, db_settings: Settings
) -> None:
    migrate(clickhouse, db_settings)
    clickhouse.insert(
        "schema_migrations",
        [[999, "future", "f" * 64]],
        column_names=["version", "name", "checksum"],
    )
    with pytest.raises(MigrationError, match="0999_future, which this version"):
        migrate(clickhouse, db_settings, dry_run=True)


def test_ttls_follow_the_settings(clickhouse: Client, db_settings: Settings) -> None:
    migrate(clickhouse, db_settings)
    week = with_overrides(db_settings, clickhouse_ttl_days=7, clickhouse_candle_ttl_days=400)
    steps = migrate(clickhouse, week)
    assert {s.what for s in steps} == {f"ttl {t}" for t in (*TABLES, *CANDLE_TABLES)}
    create = clickhouse.command(f"SHOW CREATE TABLE {clickhouse.database}.market_data_1d")
    assert "TTL day + toIntervalDay(400)" in str(create)
    assert migrate(clickhouse, week) == []
    forever = with_overrides(db_settings, clickhouse_ttl_days=0)
    removed = migrate(clickhouse, forever)  # candles back to the default (forever) too
    assert {s.statements[0].split()[-2] for s in removed} == {"REMOVE"}
    assert len(removed) == len(TABLES) + len(CANDLE_TABLES)
    assert "TTL" not in str(clickhouse.command(f"SHOW CREATE TABLE {clickhouse.database}.trades"))


def test_two_migrations_at_once_record_each_version_once(
    clickhouse_server: EmbeddedClickHouse, clickhouse: Client, db_settings: Settings
) -> None:
    def run(_: int) -> list[str]:
        client = connect(clickhouse_server.url)
        try:
            return [step.what for step in migrate(client, db_settings)]
        finally:
            client.close()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, range(2)))
    assert all(r for r in results)
    count = clickhouse.query("SELECT count() FROM schema_migrations FINAL").result_rows[0][0]
    assert count == len(load_migrations())
    assert migrate(clickhouse, db_settings) == []
