"""Seeking by time and rewinding consumer groups (``lucent reprocess``).

``offsets_for_times`` is the Kafka way to find the first offset at or after a timestamp, and
it is tried first; but some brokers answer it wrongly (the local Tansu always says 0), so
every answer is checked by reading the record it points at and the one before, and when the
check fails a binary search over the partition's records finds the offset instead. Record
timestamps are producer CreateTime, nearly but not strictly monotonic; the search treats the
partition as sorted, which is exact for sorted data and off by at most the disorder otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from lucent_platform.adapters.kafka import end_offsets


@dataclass(frozen=True)
class Rewind:
    """One partition's move: from the group's committed offset to the offset for the time."""

    topic: str
    partition: int
    committed: int | None
    target: int
    method: str  # "offsets_for_times" | "search" | "end"


def timestamp_at(probe: Consumer, topic: str, partition: int, offset: int) -> int | None:
    """The timestamp of the record at ``offset`` (None if it cannot be read)."""
    probe.assign([TopicPartition(topic, partition, offset)])
    try:
        for _ in range(20):
            message = probe.poll(0.5)
            if message is None:
                continue
            if message.error() is None:
                return int(message.timestamp()[1])
            return None
        return None
    finally:
        probe.unassign()


def offset_for_time(
    probe: Consumer, topic: str, partition: int, timestamp_ms: int, timeout: float = 10.0
) -> tuple[int, str]:
    """The first offset whose record is at or after ``timestamp_ms``, and how it was found."""
    # watermarks checked by reading: the local broker misreports the high one after a batch
    low, high = end_offsets(probe, [TopicPartition(topic, partition)], timeout)[(topic, partition)]
    if high <= low:
        return high, "end"
    try:
        answer = probe.offsets_for_times(
            [TopicPartition(topic, partition, timestamp_ms)], timeout=timeout
        )[0].offset
    except KafkaException:
        answer = -1
    if _is_first_at_or_after(probe, topic, partition, answer, low, high, timestamp_ms):
        return answer, "offsets_for_times"
    return _search(probe, topic, partition, low, high, timestamp_ms), "search"


def _is_first_at_or_after(
    probe: Consumer, topic: str, partition: int, offset: int, low: int, high: int, ts: int
) -> bool:
    if offset < 0 or offset > high:
        return False
    if offset < high:
        at = timestamp_at(probe, topic, partition, offset)
        if at is None or at < ts:
            return False
    if offset > low:
        before = timestamp_at(probe, topic, partition, offset - 1)
        if before is None or before >= ts:
            return False
    return True


def _search(probe: Consumer, topic: str, partition: int, low: int, high: int, ts: int) -> int:
    """Binary search for the first record at or after ``ts`` in [low, high)."""
    lo, hi = low, high
    while lo < hi:
        mid = (lo + hi) // 2
        at = timestamp_at(probe, topic, partition, mid)
        if at is not None and at < ts:
            lo = mid + 1
        else:
            hi = mid
    return lo


def plan_rewind(
    admin: AdminClient, probe: Consumer, group_id: str, timestamp_ms: int, timeout: float = 10.0
) -> list[Rewind]:
    """Where each partition the group has committed would move to replay from ``timestamp_ms``."""
    request = [ConsumerGroupTopicPartitions(group_id)]
    result = admin.list_consumer_group_offsets(request, request_timeout=timeout)
    committed = result[group_id].result().topic_partitions or []
    plan = []
    for tp in sorted(committed, key=lambda t: (t.topic, t.partition)):
        target, method = offset_for_time(probe, tp.topic, tp.partition, timestamp_ms, timeout)
        offset = tp.offset if tp.offset is not None and tp.offset >= 0 else None
        plan.append(Rewind(tp.topic, tp.partition, offset, target, method))
    return plan


def apply_rewind(
    admin: AdminClient, group_id: str, plan: list[Rewind], timeout: float = 10.0
) -> None:
    """Commit the planned offsets for the group (its members must be stopped first)."""
    partitions = [TopicPartition(r.topic, r.partition, r.target) for r in plan]
    request = [ConsumerGroupTopicPartitions(group_id, partitions)]
    for future in admin.alter_consumer_group_offsets(request, request_timeout=timeout).values():
        future.result()
