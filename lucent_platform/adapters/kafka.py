"""The Kafka adapter: clients built from settings, topic provisioning and topic listing.

The only core module that imports ``confluent_kafka``. Clients are created when asked for,
never at import time.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

from lucent_platform.config import Settings
from lucent_platform.topics import TopicSpec


class KafkaUnavailable(RuntimeError):
    """The cluster did not answer; the message names the address and the setting."""


def explain(exc: BaseException, settings: Settings | None = None) -> str | None:
    """One line for a Kafka client error that reached the command line; None if not one.
    With a secured protocol in ``settings``, a refused login or certificate looks like a
    broker that does not answer, so the line names the security settings too."""
    if not isinstance(exc, KafkaException):
        return None
    error = exc.args[0] if exc.args else None
    text = error.str() if isinstance(error, KafkaError) else str(exc)
    line = (
        f"Kafka: {text} — is the broker at LUCENT_KAFKA_BOOTSTRAP_SERVERS up and reachable "
        "(`lucent up` starts the local stack, `lucent status` shows it)?"
    )
    protocol = None if settings is None else settings.kafka_security_protocol
    if protocol is None or protocol == "PLAINTEXT":
        return line
    checks = []
    if protocol.startswith("SASL"):
        checks.append("LUCENT_KAFKA_SASL_MECHANISM, LUCENT_KAFKA_SASL_USERNAME and "
                      "LUCENT_KAFKA_SASL_PASSWORD (or _FILE)")  # fmt: skip
    if protocol.endswith("SSL"):
        checks.append("LUCENT_KAFKA_SSL_CA_LOCATION")
    return (
        f"{line} With LUCENT_KAFKA_SECURITY_PROTOCOL={protocol} a refused login or "
        f"certificate looks the same (the client's log lines above name it): check "
        f"{' and '.join(checks)}."
    )


def admin(settings: Settings, bootstrap_servers: str) -> AdminClient:
    return AdminClient(settings.kafka_common(bootstrap_servers))


def producer(settings: Settings, bootstrap_servers: str, **overrides: Any) -> Producer:
    return Producer({**settings.producer_config(bootstrap_servers), **overrides})


def consumer(
    settings: Settings, bootstrap_servers: str, group_id: str, **overrides: Any
) -> Consumer:
    return Consumer({**settings.consumer_config(bootstrap_servers, group_id), **overrides})


def check_reachable(settings: Settings, bootstrap_servers: str, timeout: float = 10.0) -> None:
    """Raise ``KafkaUnavailable`` unless a broker answers a metadata request in time."""
    try:
        metadata = admin(settings, bootstrap_servers).list_topics(timeout=timeout)
    except KafkaException as exc:
        raise KafkaUnavailable(
            f"Kafka at {bootstrap_servers} did not answer within {timeout:.0f}s ({exc}) — "
            "check LUCENT_KAFKA_BOOTSTRAP_SERVERS and LUCENT_KAFKA_CONFIG"
        ) from None
    if not metadata.brokers:
        raise KafkaUnavailable(f"Kafka at {bootstrap_servers} reports no brokers")


@dataclass(frozen=True)
class ProvisionResult:
    topic: str
    status: str  # "created" | "exists" | "failed: <reason>"


def provision(
    client: AdminClient,
    specs: Iterable[TopicSpec],
    *,
    replication_factor: int,
    min_insync_replicas: int,
    timeout: float = 30.0,
) -> list[ProvisionResult]:
    """Create every missing topic with its explicit config; existing topics are left alone.

    Idempotent, so the Dagster asset and ``lucent topics provision`` can run any time.
    """
    existing = set(client.list_topics(timeout=timeout).topics)
    wanted = list(specs)
    results = [ProvisionResult(s.name, "exists") for s in wanted if s.name in existing]
    missing = [s for s in wanted if s.name not in existing]
    if not missing:
        return results
    futures = client.create_topics(
        [
            NewTopic(
                s.name,
                num_partitions=s.partitions,
                replication_factor=replication_factor,
                config=s.config(min_insync_replicas),
            )
            for s in missing
        ],
        request_timeout=timeout,
    )
    for name, future in futures.items():
        try:
            future.result()
            results.append(ProvisionResult(name, "created"))
        except KafkaException as exc:
            error = exc.args[0]
            if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                results.append(ProvisionResult(name, "exists"))
            else:
                results.append(ProvisionResult(name, f"failed: {error}"))
    return sorted(results, key=lambda r: r.topic)


@dataclass(frozen=True)
class TopicInfo:
    topic: str
    partitions: int
    messages: int  # sum over partitions of high − low watermark


def describe_topics(
    settings: Settings, bootstrap_servers: str, timeout: float = 10.0
) -> list[TopicInfo]:
    """Every topic on the cluster with its partition count and current message count."""
    probe = consumer(settings, bootstrap_servers, group_id="lucent-topics-list")
    try:
        metadata = probe.list_topics(timeout=timeout)
        partitions = [
            TopicPartition(name, p)
            for name, topic in metadata.topics.items()
            if not name.startswith("__")
            for p in topic.partitions
        ]
        ends = end_offsets(probe, partitions, timeout)
        counts: dict[str, int] = {}
        for (name, _), (low, high) in ends.items():
            counts[name] = counts.get(name, 0) + max(high - low, 0)
        return [
            TopicInfo(name, len(metadata.topics[name].partitions), counts.get(name, 0))
            for name in sorted(metadata.topics)
            if not name.startswith("__")
        ]
    finally:
        probe.close()


def end_offsets(
    probe: Consumer, partitions: list[TopicPartition], timeout: float = 10.0
) -> dict[tuple[str, int], tuple[int, int]]:
    """(low, high) watermarks per partition, with ``high`` checked by reading (see ``tails``)."""
    return {key: (tail.low, tail.high) for key, tail in tails(probe, partitions, timeout).items()}


@dataclass(frozen=True)
class Tail:
    """One partition's watermarks and the timestamp (epoch ms) of its last record, if any."""

    low: int
    high: int
    newest_ms: int | None = None


def tails(
    probe: Consumer, partitions: list[TopicPartition], timeout: float = 10.0
) -> dict[tuple[str, int], Tail]:
    """Watermarks per partition, with ``high`` checked by reading, and the last record's time.

    The local broker (Tansu 0.6) reports the high watermark of a partition whose last write
    was a batch as that batch's base offset + 1, not its last offset + 1. Reading from
    ``high - 1`` returns the whole last batch, so the true end is the last offset read + 1;
    on a correct broker this reads exactly one message. All partitions are read at once.
    """
    ends: dict[tuple[str, int], Tail] = {}
    for tp in partitions:
        low, high = probe.get_watermark_offsets(tp, timeout=timeout)
        ends[(tp.topic, tp.partition)] = Tail(low, high)
    starts = [TopicPartition(t, p, e.high - 1) for (t, p), e in ends.items() if e.high > e.low]
    if not starts:
        return ends
    probe.assign(starts)
    try:
        # Every assigned partition has at least one message to return; its whole last batch
        # comes in the same fetch, so once each has answered, one short poll mops up.
        pending = {(tp.topic, tp.partition) for tp in starts}
        deadline = time.monotonic() + timeout  # a busy partition keeps growing: stop anyway
        while time.monotonic() < deadline:
            messages = probe.consume(num_messages=10_000, timeout=0.5 if pending else 0.1)
            if not messages and not pending:
                break
            for m in messages:
                if m.error() is None:
                    key = (m.topic() or "", m.partition() or 0)
                    pending.discard(key)
                    tail, offset = ends[key], m.offset() or 0
                    if offset + 1 >= tail.high:
                        ends[key] = Tail(tail.low, offset + 1, m.timestamp()[1])
        return ends
    finally:
        probe.unassign()


def committed_offsets(
    client: AdminClient, group: str, partitions: list[TopicPartition], timeout: float = 10.0
) -> dict[tuple[str, int], int]:
    """The offsets ``group`` committed on ``partitions`` (-1001 where it committed none).

    An OffsetFetch through the admin client: it does not join the group, so asking never
    triggers a rebalance of the workers that own it.
    """
    if not partitions:
        return {}
    request = ConsumerGroupTopicPartitions(group, partitions)
    future = client.list_consumer_group_offsets([request], request_timeout=timeout)[group]
    answer = future.result()
    return {(tp.topic, tp.partition): tp.offset for tp in answer.topic_partitions or []}


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


def read_topic(
    settings: Settings,
    bootstrap_servers: str,
    topic: str,
    *,
    limit: int = 10_000,
    idle_timeout: float = 1.0,
) -> list[Record]:
    """Up to ``limit`` records of ``topic`` from its start, without joining a group.

    For inspection (``lucent tail``, demo reports, tests), not for processing: it stops when
    nothing new arrives for ``idle_timeout`` seconds.
    """
    probe = consumer(settings, bootstrap_servers, group_id="lucent-inspect")
    try:
        metadata = probe.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return []
        probe.assign([TopicPartition(topic, p, 0) for p in metadata.partitions])
        records: list[Record] = []
        while len(records) < limit:
            batch = probe.consume(num_messages=min(10_000, limit - len(records)),
                                  timeout=idle_timeout)  # fmt: skip
            if not batch:
                break
            records += [
                Record(
                    topic,
                    m.partition() or 0,
                    m.offset() or 0,
                    m.timestamp()[1],
                    _as_bytes(m.key()),
                    _as_bytes(m.value()),
                )
                for m in batch
                if m.error() is None
            ]
        return records
    finally:
        probe.close()


def _as_bytes(value: str | bytes | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def read_record(
    settings: Settings,
    bootstrap_servers: str,
    topic: str,
    partition: int,
    offset: int,
    *,
    timeout: float = 5.0,
) -> Record | None:
    """The record at ``offset`` of one partition (None when it is gone or never was), read
    without joining a group: for tracing a message back (``lucent trace``)."""
    probe = consumer(settings, bootstrap_servers, group_id="lucent-inspect")
    try:
        # Only the low watermark is trusted: the local broker misreports the high one after a
        # batch (see kafka_time), so an offset past the end is found out by reading.
        low, _ = probe.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=timeout, cached=False
        )
        if offset < low:
            return None
        probe.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = probe.poll(0.2)
            if m is None:
                continue
            if m.error() is not None or m.offset() != offset:
                return None
            return Record(topic, partition, offset, m.timestamp()[1], _as_bytes(m.key()),
                          _as_bytes(m.value()))  # fmt: skip
        return None
    except KafkaException:
        return None
    finally:
        probe.close()
