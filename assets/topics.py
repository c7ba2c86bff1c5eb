"""``kafka_topics``: the topic catalog, provisioned on the cluster.

No ``from __future__ import annotations`` here: Dagster reads the annotations of asset
functions at definition time.
"""

import dagster as dg

from lucent_platform import topics as catalog
from lucent_platform.adapters import kafka
from resources.kafka import KafkaResource


@dg.asset(
    group_name="control_plane",
    kinds={"kafka"},
    description=(
        "Every topic of the catalog (normalized streams, dead letters, signals, alert rules, "
        "checkpoints, and raw topics for the configured exchanges × pairs), created with "
        "explicit configs. Idempotent: existing topics are left as they are."
    ),
)
def kafka_topics(context: dg.AssetExecutionContext, kafka: KafkaResource) -> dg.MaterializeResult:
    settings = kafka.settings()
    specs = catalog.fixed_topics() + catalog.instrument_topics(settings.exchanges, settings.pairs)
    results = _provision(kafka, specs, settings.replication_factor, settings.min_insync_replicas)
    failed = [r for r in results if r.status.startswith("failed")]
    if failed:
        raise dg.Failure(
            description=f"{len(failed)} topic(s) could not be created",
            metadata={"failed": "\n".join(f"{r.topic}: {r.status}" for r in failed)},
        )
    created = sum(r.status == "created" for r in results)
    context.log.info("%d topics in the catalog, %d created now", len(results), created)
    rows = "\n".join(
        f"| {row['topic']} | {row['partitions']} | {row['key']} | {row['policy']} |"
        for row in map(catalog.describe, specs)
    )
    table = "| topic | partitions | key | retention |\n|---|---|---|---|\n" + rows
    return dg.MaterializeResult(
        metadata={
            "topics": len(results),
            "created": created,
            "catalog": dg.MetadataValue.md(table),
        }
    )


def _provision(
    resource: KafkaResource, specs: tuple[catalog.TopicSpec, ...], rf: int, isr: int
) -> list[kafka.ProvisionResult]:
    return kafka.provision(resource.admin(), specs, replication_factor=rf, min_insync_replicas=isr)
