"""``kafka_topics``: the topic catalog, provisioned on the cluster, with drift repaired or reported.

No ``from __future__ import annotations`` here: Dagster reads the annotations of asset
functions at definition time.
"""

from collections.abc import Iterable

import dagster as dg
from confluent_kafka.admin import AdminClient

from lucent_platform import topics as catalog
from lucent_platform.adapters import kafka, kafka_configs
from lucent_platform.topic_drift import TopicDrift, drift
from resources.kafka import KafkaResource


@dg.asset(
    group_name="control_plane",
    kinds={"kafka"},
    description=(
        "Every topic of the catalog (normalized streams, dead letters, signals, alert rules, "
        "checkpoints, and raw topics for the configured exchanges × pairs), created with "
        "explicit configs. An existing topic whose configs differ from the catalog is altered "
        "(IncrementalAlterConfigs); one with fewer partitions than the catalog is reported in "
        "the metadata, never repartitioned (that would move keys). Idempotent."
    ),
)
def kafka_topics(context: dg.AssetExecutionContext, kafka: KafkaResource) -> dg.MaterializeResult:
    settings = kafka.settings()
    specs = catalog.fixed_topics() + catalog.instrument_topics(settings.exchanges, settings.pairs)
    isr = settings.min_insync_replicas
    admin = kafka.admin()
    results = _provision(kafka, specs, settings.replication_factor, isr)
    failed = [f"{r.topic}: {r.status}" for r in results if r.status.startswith("failed")]
    if failed:
        raise dg.Failure(
            description=f"{len(failed)} topic(s) could not be created",
            metadata={"failed": "\n".join(failed)},
        )
    created = sum(r.status == "created" for r in results)
    drifts = _drift(admin, specs, isr)
    altered = kafka_configs.set_configs(
        admin, {d.topic: {name: new for name, (_, new) in d.configs.items()} for d in drifts}
    )
    not_altered = [f"{topic}: {error}" for topic, error in altered.items() if error]
    if not_altered:
        raise dg.Failure(
            description=f"{len(not_altered)} topic(s) differ from the catalog and could not "
            "be altered",
            metadata={"failed": "\n".join(not_altered)},
        )
    short = [d for d in drifts if d.missing_partitions]
    for d in short:
        context.log.warning("%s — add partitions by hand if the key order allows", d.describe())
    context.log.info(
        "%d topics in the catalog, %d created, %d altered", len(results), created, len(altered)
    )
    return dg.MaterializeResult(
        metadata={
            "topics": len(results),
            "created": created,
            "altered": len(altered),
            "config_drift": dg.MetadataValue.md(_lines(d for d in drifts if d.configs)),
            "partition_drift": len(short),
            "partitions_short": dg.MetadataValue.md(_lines(short)),
            "catalog": dg.MetadataValue.md(_catalog_table(specs)),
        }
    )


def _provision(
    resource: KafkaResource, specs: tuple[catalog.TopicSpec, ...], rf: int, isr: int
) -> list[kafka.ProvisionResult]:
    return kafka.provision(resource.admin(), specs, replication_factor=rf, min_insync_replicas=isr)


def _drift(admin: AdminClient, specs: tuple[catalog.TopicSpec, ...], isr: int) -> list[TopicDrift]:
    states = kafka_configs.topic_states(admin, [spec.name for spec in specs])
    found = []
    for spec in specs:
        if spec.name not in states:
            continue
        count, config = states[spec.name]
        found.append(
            drift(spec.name, spec.partitions, spec.config(isr), partitions=count, config=config)
        )
    return [d for d in found if d.drifted]


def _lines(drifts: Iterable[TopicDrift]) -> str:
    rows = [f"- {d.describe()}" for d in drifts]
    return "\n".join(rows) or "none"


def _catalog_table(specs: tuple[catalog.TopicSpec, ...]) -> str:
    rows = "\n".join(
        f"| {row['topic']} | {row['partitions']} | {row['key']} | {row['policy']} |"
        for row in map(catalog.describe, specs)
    )
    return "| topic | partitions | key | retention |\n|---|---|---|---|\n" + rows
