"""``archive/raw_tables``: each raw ClickHouse table's rows of a day, archived to Parquet
before the TTL drops them (``lucent_platform.analytics.archive``), one UTC day per partition.

A day is archivable once ``LUCENT_ARCHIVE_AFTER_DAYS`` old and until
``LUCENT_CLICKHOUSE_TTL_DAYS`` reaches it; materializing a younger day fails with the reason.

No ``from __future__ import annotations`` here: Dagster reads the annotations of asset
functions at definition time.
"""

from datetime import UTC, datetime

import dagster as dg

from assets.keys import archive_key, table_key
from lucent_platform.analytics.archive import (
    NotArchivable,
    archive_day,
    archive_path,
    check_window,
)
from lucent_platform.analytics.schema import TABLES
from resources.clickhouse import ClickHouseResource
from resources.endpoints import platform_settings
from resources.storage import StorageResource

ARCHIVE_DAYS = dg.DailyPartitionsDefinition(start_date="2025-01-01")


@dg.asset(
    key=archive_key("raw_tables"),
    deps=[table_key(table) for table in TABLES],
    partitions_def=ARCHIVE_DAYS,
    group_name="archive",
    kinds={"parquet", "clickhouse"},
    description=(
        "The rows every raw table stored on the day (by inserted_at, what the TTL counts "
        "from), read FINAL, as DATA_DIR/archive/TABLE/date=DAY.parquet; archivable once "
        "LUCENT_ARCHIVE_AFTER_DAYS old, before LUCENT_CLICKHOUSE_TTL_DAYS drops them. "
        "Re-materializing rewrites the same files."
    ),
)
def raw_tables(
    context: dg.AssetExecutionContext, clickhouse: ClickHouseResource, storage: StorageResource
) -> dg.MaterializeResult:
    settings = platform_settings()
    day = datetime.strptime(context.partition_key, "%Y-%m-%d").date()
    try:
        window = check_window(day, datetime.now(UTC).date(),
                              after_days=settings.archive_after_days,
                              ttl_days=settings.clickhouse_ttl_days)  # fmt: skip
    except NotArchivable as exc:
        raise dg.Failure(description=str(exc)) from None
    if not window.complete:
        context.log.warning("%s is past the %d-day TTL: archiving what is left of it", day,
                            settings.clickhouse_ttl_days)  # fmt: skip
    database = clickhouse.database or settings.clickhouse_database
    client = clickhouse.client()
    counts, paths = {}, {}
    try:
        for table in TABLES:
            path = archive_path(storage.root(), table, day)
            counts[table] = archive_day(client, database, table, day, path)
            paths[table] = str(path)
    finally:
        client.close()
    rows = "\n".join(f"| {t} | {n} | {paths[t]} |" for t, n in counts.items())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(counts.values()),
            "rows": dg.MetadataValue.json(counts),
            "files": dg.MetadataValue.md("| table | rows | file |\n|---|---|---|\n" + rows),
            "directory": dg.MetadataValue.path(str(storage.root() / "archive")),
            "age (days)": window.age_days,
            "days before TTL": -1 if window.days_before_ttl is None else window.days_before_ttl,
            "complete": window.complete,
        }
    )
