"""Provisioning the catalog on the real broker, and reading it back."""

from __future__ import annotations

from confluent_kafka.admin import ConfigResource

from lucent_platform import topics
from lucent_platform.adapters import kafka
from lucent_platform.config import Settings


def test_provision_is_idempotent_and_sets_explicit_configs(
    kafka_bootstrap: str, settings: Settings, unique: str
) -> None:
    specs = (
        topics.TopicSpec(f"test.hot.{unique}", 3),
        topics.TopicSpec(f"test.rules.{unique}", 1, compacted=True),
    )
    admin = kafka.admin(settings, kafka_bootstrap)
    first = kafka.provision(admin, specs, replication_factor=1, min_insync_replicas=1)
    assert [r.status for r in first] == ["created", "created"]
    again = kafka.provision(admin, specs, replication_factor=1, min_insync_replicas=1)
    assert [r.status for r in again] == ["exists", "exists"]

    described = admin.describe_configs([ConfigResource("topic", f"test.rules.{unique}")])
    config = {c.name: c.value for f in described.values() for c in f.result().values()}
    assert config["cleanup.policy"] == "compact"

    infos = {i.topic: i for i in kafka.describe_topics(settings, kafka_bootstrap)}
    assert infos[f"test.hot.{unique}"].partitions == 3
    assert infos[f"test.hot.{unique}"].messages == 0


def test_describe_counts_messages(kafka_bootstrap: str, settings: Settings, unique: str) -> None:
    name = f"test.count.{unique}"
    admin = kafka.admin(settings, kafka_bootstrap)
    kafka.provision(admin, [topics.TopicSpec(name, 2)], replication_factor=1,
                    min_insync_replicas=1)  # fmt: skip
    producer = kafka.producer(settings, kafka_bootstrap)
    for i in range(5):
        producer.produce(name, value=b"x", key=str(i).encode())
    assert producer.flush(10) == 0
    infos = {i.topic: i for i in kafka.describe_topics(settings, kafka_bootstrap)}
    assert infos[name].messages == 5


def test_an_unreachable_cluster_is_named(settings: Settings) -> None:
    import pytest

    from lucent_platform.stack.ports import free_port

    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(kafka.KafkaUnavailable, match=address):
        kafka.check_reachable(settings, address, timeout=1)
