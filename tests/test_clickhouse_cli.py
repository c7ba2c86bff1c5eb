"""``lucent clickhouse migrate`` and ``status`` against the embedded server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from lucent_platform.cli.main import cli

if TYPE_CHECKING:
    from pathlib import Path

    from clickhouse_connect.driver import Client

    from tests.fixtures.clickhouse import EmbeddedClickHouse


@pytest.fixture
def env(
    clickhouse_server: EmbeddedClickHouse, clickhouse: Client, tmp_path: Path
) -> dict[str, str]:
    return {
        "LUCENT_CLICKHOUSE_URL": clickhouse_server.url,
        "LUCENT_CLICKHOUSE_DATABASE": clickhouse.database,
        "LUCENT_DATA_DIR": str(tmp_path),
    }


def run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(cli, ["clickhouse", *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_migrate_dry_run_then_migrate_then_status(env: dict[str, str], clickhouse: Client) -> None:
    dry = run(env, "migrate", "--dry-run")
    assert "would apply  0001_raw_tables" in dry and "CREATE TABLE IF NOT EXISTS" in dry
    tables = "SELECT count() FROM system.tables WHERE database = currentDatabase()"
    assert clickhouse.query(tables).result_rows[0][0] == 0  # a dry run changes nothing
    before = run(env, "status")
    assert "0001_raw_tables          pending" in before
    applied = run(env, "migrate")
    assert "applied      0002_candles" in applied and "CREATE" not in applied
    assert "up to date" in run(env, "migrate")
    clickhouse.command("INSERT INTO dead_letters (message_id, reason) VALUES ('t/0/1', 'outlier')")
    status = run(env, "status")
    assert "0002_candles             applied 20" in status
    assert any(
        line.split()[:1] == ["dead_letters"] and line.endswith(" 1") for line in status.splitlines()
    )


def test_a_changed_migration_fails_clearly(env: dict[str, str], clickhouse: Client) -> None:
    run(env, "migrate")
    clickhouse.insert(
        "schema_migrations", [[2, "candles", "x"]], column_names=["version", "name", "checksum"]
    )
    result = CliRunner().invoke(cli, ["clickhouse", "migrate"], env=env)
    assert result.exit_code == 1
    assert "0002_candles changed after it was applied" in result.output
