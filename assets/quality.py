"""Data-quality asset checks on the ClickHouse tables, the hourly job that runs them all, and
its schedule.

One asset check per entry of ``lucent_platform.quality.suite.CHECKS``, on the table's asset
(``table_key``): it reads the table's recent window through the ``clickhouse`` resource, runs
the pure check (great-expectations on a DataFrame), and reports the offending rows' count, a
sample of up to ``sample_rows`` of them as a markdown table, and the check's severity.

The checks on ``ohlcv_history`` also run in every backfill run of that asset (a job selecting an
asset runs its checks after it), scoped to the run's partition (day × instrument). They are not
blocking: a blocking check failing with ERROR fails its run, and the hourly run and the backfill
run should say whether they ran, while the check's own result says what it found.

No ``from __future__ import annotations`` here: Dagster reads the annotations of asset check
functions at definition time.
"""

from datetime import UTC, datetime
from typing import Any

import dagster as dg

from assets.keys import table_key
from lucent_platform.history import day_window, parse_instrument_key
from lucent_platform.quality import quality_config
from lucent_platform.quality.outcome import Outcome
from lucent_platform.quality.suite import CHECKS, Partition, QualityCheck, Scope
from resources.clickhouse import ClickHouseResource
from resources.endpoints import platform_settings

BACKFILLED = "ohlcv_history"
"""The backfill's table: its checks follow the backfill run's partition."""

SEVERITY = {"WARN": dg.AssetCheckSeverity.WARN, "ERROR": dg.AssetCheckSeverity.ERROR}


def quality_check(check: QualityCheck) -> dg.AssetChecksDefinition:
    """The Dagster asset check of one catalog entry."""

    @dg.asset_check(
        asset=table_key(check.table),
        name=check.name,
        description=f"{check.description.strip()} Reads {check.window(quality_config({}))} "
        f"(default window; LUCENT_QUALITY_CONFIG). Severity {check.severity} by default.",
        metadata={"severity": check.severity},
    )
    def _check(
        context: dg.AssetCheckExecutionContext, clickhouse: ClickHouseResource
    ) -> dg.AssetCheckResult:
        settings = platform_settings()
        config = quality_config(settings.quality_config)
        partition = _partition(context) if check.table == BACKFILLED else None
        client = clickhouse.client()
        try:
            scope = Scope(
                client, clickhouse.database or settings.clickhouse_database, datetime.now(UTC),
                config, tuple(settings.exchanges), partition,
            )  # fmt: skip
            result = check.run(scope)
        finally:
            client.close()
        severity = config.severity_of(check.name, check.severity)
        context.log.info("%s %s: %s", check.table, check.name, result.summary)
        read = check.window(config) if partition is None else _describe(partition)
        return _result(result, severity, read)

    return _check


def _partition(context: dg.AssetCheckExecutionContext) -> Partition | None:
    """The backfill partition this run covers, if any (``2025-11-10|binance:BTC-USDT``)."""
    if not context.has_partition_key:
        return None
    keys = getattr(context.partition_key, "keys_by_dimension", None) or {}
    try:
        instrument = parse_instrument_key(keys["instrument"])
        window = day_window(keys["date"])
    except (KeyError, ValueError) as exc:
        raise dg.Failure(f"not a backfill partition: {context.partition_key!r} ({exc})") from exc
    return Partition(instrument.exchange, instrument.pair, window.start, window.end)


def _describe(partition: Partition) -> str:
    return f"{partition.exchange} {partition.pair} candles of {partition.start:%Y-%m-%d} (UTC)"


def _result(result: Outcome, severity: str, read: str) -> dg.AssetCheckResult:
    metadata: dict[str, Any] = {
        "count": dg.MetadataValue.int(result.failing),
        "checked": dg.MetadataValue.int(result.checked),
        "window": read,
        **{name: value for name, value in result.figures.items()},
    }
    if not result.passed:
        metadata["sample"] = dg.MetadataValue.md(result.sample_markdown())
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=SEVERITY[severity],
        description=result.summary,
        metadata=metadata,
    )


quality_checks = [quality_check(check) for check in CHECKS]

quality_job = dg.define_asset_job(
    "quality_checks",
    selection=dg.AssetSelection.checks(*quality_checks),
    description="Every data-quality check on the ClickHouse tables (their recent window).",
    # One process for all checks: each is a small read, while a process per check would pay
    # Dagster's and great-expectations' imports (seconds each) 26 times an hour.
    executor_def=dg.in_process_executor,
)

quality_schedule = dg.ScheduleDefinition(
    name="quality_checks_hourly",
    job=quality_job,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour at :05 UTC: all data-quality checks over the last window.",
)
