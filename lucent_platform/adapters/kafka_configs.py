"""Topic configs on the broker: describe them, and set the ones that differ from the catalog.

Uses IncrementalAlterConfigs (KIP-339), which sets only the named configs and leaves the rest
as they are; the older AlterConfigs replaces a topic's whole config, and the local broker
(Tansu 0.6) does not implement it anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
)


def topic_states(
    client: AdminClient, names: Iterable[str], timeout: float = 30.0
) -> dict[str, tuple[int, dict[str, str | None]]]:
    """Each existing topic of ``names`` → (partition count, its configs as the broker tells).

    Topics that do not exist are left out. A broker that only reports configs set explicitly
    (Tansu) leaves defaults out of the mapping; a real Kafka reports every config.
    """
    metadata = client.list_topics(timeout=timeout).topics
    existing = [name for name in names if name in metadata]
    if not existing:
        return {}
    resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in existing]
    futures = client.describe_configs(resources, request_timeout=timeout)
    states = {}
    for resource, future in futures.items():
        entries = future.result()
        configs = {key: entry.value for key, entry in entries.items()}
        states[resource.name] = (len(metadata[resource.name].partitions), configs)
    return states


def set_configs(
    client: AdminClient, changes: Mapping[str, Mapping[str, str]], timeout: float = 30.0
) -> dict[str, str | None]:
    """Set ``changes`` (topic → {config: value}); topic → None when done, else the error."""
    resources = [
        ConfigResource(
            ConfigResource.Type.TOPIC,
            topic,
            incremental_configs=[
                ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
                for name, value in sorted(configs.items())
            ],
        )
        for topic, configs in changes.items()
        if configs
    ]
    if not resources:
        return {}
    outcome: dict[str, str | None] = {}
    for resource, future in client.incremental_alter_configs(
        resources, request_timeout=timeout
    ).items():
        try:
            future.result()
            outcome[resource.name] = None
        except KafkaException as exc:
            outcome[resource.name] = str(exc.args[0])
    return outcome
