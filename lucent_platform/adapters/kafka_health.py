"""One ``BrokerSample`` from the Kafka admin API, for ``lucent_platform.brokerhealth``.

Metadata (leader, replicas, in-sync replicas per partition) and the consumer groups
(ListGroups, then DescribeGroups) through the admin client; records per partition from the
watermarks as ``kafka_groups.ends`` reads them (the high one checked by reading, because
Tansu reports a batch's base offset + 1). Nothing here joins a group.
"""

from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from lucent_platform.adapters.kafka_groups import ends
from lucent_platform.brokerhealth import BrokerSample, GroupSample, PartitionSample
from lucent_platform.config import Settings


def sample(settings: Settings, bootstrap: str, timeout: float = 10.0) -> BrokerSample:
    """The cluster's brokers, every non-internal partition and every consumer group now."""
    # Warnings and worse only: librdkafka's info line at close would land in every log.
    client = AdminClient({**settings.kafka_common(bootstrap), "log_level": 4})
    metadata = client.list_topics(timeout=timeout)
    found = [
        (name, p)
        for name, topic in sorted(metadata.topics.items())
        if not name.startswith("__")
        for p in sorted(topic.partitions.values(), key=lambda p: p.id)
    ]
    watermarks = ends(settings, bootstrap, [(name, p.id) for name, p in found])
    partitions = tuple(
        PartitionSample(
            topic=name,
            partition=p.id,
            leader=p.leader,
            replicas=tuple(p.replicas),
            isr=tuple(p.isrs),
            records=max(high - low, 0),
        )
        for name, p in found
        for low, high in [watermarks.get((name, p.id), (0, 0))]
    )
    return BrokerSample(
        brokers=tuple(sorted(metadata.brokers)),
        partitions=partitions,
        groups=groups(client, timeout),
    )


def groups(client: AdminClient, timeout: float = 10.0) -> tuple[GroupSample, ...]:
    """Every consumer group the cluster lists, described (state, members, assignments)."""
    listed = client.list_consumer_groups(request_timeout=timeout).result()
    ids = sorted({g.group_id for g in listed.valid})
    if not ids:
        return ()
    out = []
    for group_id, future in client.describe_consumer_groups(ids, request_timeout=timeout).items():
        try:
            described = future.result()
        except KafkaException:  # gone between listing and describing: nothing to report
            continue
        members = tuple(
            sorted(
                (
                    m.member_id,
                    tuple(sorted((tp.topic, tp.partition) for tp in m.assignment.topic_partitions)),
                )
                for m in described.members
            )
        )
        out.append(GroupSample(group_id, described.state.name.lower(), members))
    return tuple(sorted(out, key=lambda g: g.group))
