"""The history checks in a real backfill run: recorded exchange answers through ccxt into
the embedded ClickHouse (the backfill's own test server), then the checks Dagster runs with
the asset, scoped to the run's partition. They agree with the backfill's own gap count."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import dagster as dg
import pytest

from assets.history import instruments_partitions, ohlcv_history
from assets.keys import table_key
from assets.quality import quality_checks
from resources import ClickHouseResource
from resources.exchanges import ExchangeRestResource
from tests.exchange_server import ExchangeServer
from tests.history_server import history_server, rest_urls

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

    from tests.fixtures.clickhouse import EmbeddedClickHouse

HISTORY_CHECKS = [c for c in quality_checks
                  if next(iter(c.check_keys)).asset_key == table_key("ohlcv_history")]  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[ExchangeServer]:
    with history_server() as running:
        yield running


def backfill(
    day: str, instrument: str, server: ExchangeServer, ch: EmbeddedClickHouse, db: Client
) -> tuple[dict[str, dg.AssetCheckEvaluation], int]:
    """One partition of ``ohlcv_history`` with its checks (as in ``history_backfill``): the
    check evaluations by name, and the backfill's own ``missing_candles``."""
    resources = {
        "clickhouse": ClickHouseResource(url=ch.url, database=db.database),
        # Kraken's own limiter spaces requests by 1 s; 50 ms keeps the test short
        "exchange_rest": ExchangeRestResource(rest_urls=rest_urls(server), rate_limit_ms=50),
    }
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(instruments_partitions.name, [instrument])
        key = dg.MultiPartitionKey({"date": day, "instrument": instrument})
        result = dg.materialize([ohlcv_history, *HISTORY_CHECKS], partition_key=key,
                                instance=instance, resources=resources)  # fmt: skip
    assert result.success
    materialization = result.asset_materializations_for_node(ohlcv_history.op.name)[0]
    missing = int(materialization.metadata["missing_candles"].value)  # type: ignore[arg-type]
    return {e.check_name: e for e in result.get_asset_check_evaluations()}, missing


def test_a_backfilled_day_with_a_gap_warns_with_the_backfills_own_count(
    server: ExchangeServer, clickhouse_server: EmbeddedClickHouse, clickhouse: Client
) -> None:
    from lucent_platform.analytics import migrate
    from lucent_platform.config import Settings, with_overrides

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    migrate(clickhouse, with_overrides(settings, clickhouse_database=clickhouse.database))

    # Kraken's recording of 2025-11-10 starts at 12:17: one gap at the start of the day
    checks, missing = backfill("2025-11-10", "kraken:BTC-USDT", server, clickhouse_server,
                               clickhouse)  # fmt: skip
    gaps = checks["no_candle_gaps"]
    assert (gaps.passed, gaps.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert gaps.metadata["missing_candles"].value == missing == 12 * 60 + 17
    assert gaps.metadata["count"].value == 1
    assert "kraken BTC-USDT candles of 2025-11-10" in str(gaps.metadata["window"].value)
    assert checks["ohlcv_consistent"].passed  # real candles: low ≤ open, close ≤ high

    # Binance's own dump of 2021-11-27 holds every minute: nothing missing
    checks, missing = backfill("2021-11-27", "binance:ADA-BTC", server, clickhouse_server,
                               clickhouse)  # fmt: skip
    assert missing == 0 and checks["no_candle_gaps"].passed
    assert checks["no_candle_gaps"].metadata["checked"].value == 1440 + 1  # edges included
    assert checks["ohlcv_consistent"].metadata["checked"].value == 1440
