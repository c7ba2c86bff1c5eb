"""``clickhouse_tables``: the analytics schema (tables, materialized views, TTLs) migrated.

No ``from __future__ import annotations`` here: Dagster reads the annotations of asset
functions at definition time.
"""

from collections.abc import Iterable

import dagster as dg

from lucent_platform.analytics.migrate import (
    MigrationError,
    applied_versions,
    load_migrations,
    migrate,
)
from lucent_platform.config import with_overrides
from resources.clickhouse import ClickHouseResource
from resources.endpoints import platform_settings


@dg.asset(
    group_name="control_plane",
    kinds={"clickhouse"},
    deps=["kafka_topics"],
    description=(
        "The analytics database brought to the newest schema: the versioned migrations not yet "
        "applied (tables, materialized views), then the settings-driven parts (TTLs, the "
        "Kafka-engine tables when LUCENT_CLICKHOUSE_INGEST=kafka-engine). The same code as "
        "`lucent clickhouse migrate`; idempotent."
    ),
)
def clickhouse_tables(
    context: dg.AssetExecutionContext, clickhouse: ClickHouseResource
) -> dg.MaterializeResult:
    settings = with_overrides(platform_settings(), clickhouse_database=clickhouse.database)
    client = clickhouse.client()
    try:
        pending = migrate(client, settings, dry_run=True)
        try:
            steps = migrate(client, settings)
        except MigrationError as exc:
            raise dg.Failure(description=str(exc)) from None
        applied = applied_versions(client, settings.clickhouse_database)
    finally:
        client.close()
    for step in steps:
        context.log.info("applied %s (%d statements)", step.what, len(step.statements))
    rows = "\n".join(
        f"| {m.label} | {'applied now' if m.label in {s.what for s in steps} else 'applied'} |"
        if m.version in applied
        else f"| {m.label} | pending |"
        for m in load_migrations()
    )
    return dg.MaterializeResult(
        metadata={
            "database": settings.clickhouse_database,
            "pending_before": dg.MetadataValue.md(_bullets(s.what for s in pending)),
            "applied_now": dg.MetadataValue.md(_bullets(s.what for s in steps)),
            "steps_applied": len(steps),
            "migrations": dg.MetadataValue.md("| migration | status |\n|---|---|\n" + rows),
        }
    )


def _bullets(items: Iterable[str]) -> str:
    lines = [f"- {item}" for item in items]
    return "\n".join(lines) or "nothing"
