"""Seeking by time, rewinding consumer groups and planning ranges (``lucent reprocess``).

``offsets_for_times`` is the Kafka way to find the first offset at or after a timestamp, and
it is tried first; but some brokers answer it wrongly (the local Tansu always says 0), so
every answer is checked by reading the record it points at and the one before, and when the
check fails a binary search over the partition's records finds the offset instead. Record
timestamps are producer CreateTime, nearly but not strictly monotonic; the search treats the
partition as sorted, which is exact for sorted data and off by at most the disorder otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
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


@dataclass(frozen=True)
class Span:
    """One partition's range to recompute, records [start, end), and where the group was."""

    topic: str
    partition: int
    committed: int | None
    start: int
    end: int
    method: str  # how start and end were found, e.g. "search" or "search/end"

    @property
    def records(self) -> int:
        return self.end - self.start


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


def offsets_at_time(
    consumer: Consumer, topics: Sequence[str], since_ms: int, wait: Callable[[float], bool]
) -> list[TopicPartition] | None:
    """Every partition of ``topics`` at its first record at or after ``since_ms``, waiting
    for a topic that does not exist yet (``wait(seconds)`` sleeps and returns True when the
    caller is stopping: then ``None``)."""
    starts: list[TopicPartition] = []
    for topic in topics:
        while True:
            found = consumer.list_topics(topic, timeout=10).topics.get(topic)
            if found is not None and found.error is None and found.partitions:
                break
            if wait(1.0):
                return None
        for partition in sorted(found.partitions):
            offset, _ = offset_for_time(consumer, topic, partition, since_ms)
            starts.append(TopicPartition(topic, partition, offset))
    return starts


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


def committed_offsets(
    admin: AdminClient, group_id: str, timeout: float = 10.0
) -> dict[tuple[str, int], int | None]:
    """The group's committed offset per partition it has committed (None: no valid offset)."""
    request = [ConsumerGroupTopicPartitions(group_id)]
    result = admin.list_consumer_group_offsets(request, request_timeout=timeout)
    answer = result[group_id].result().topic_partitions or []
    return {
        (tp.topic, tp.partition): tp.offset if tp.offset is not None and tp.offset >= 0 else None
        for tp in sorted(answer, key=lambda t: (t.topic, t.partition))
    }


def plan_rewind(
    admin: AdminClient, probe: Consumer, group_id: str, timestamp_ms: int, timeout: float = 10.0
) -> list[Rewind]:
    """Where each partition the group has committed would move to replay from ``timestamp_ms``."""
    plan = []
    for (topic, partition), offset in committed_offsets(admin, group_id, timeout).items():
        target, method = offset_for_time(probe, topic, partition, timestamp_ms, timeout)
        plan.append(Rewind(topic, partition, offset, target, method))
    return plan


def plan_range(
    admin: AdminClient,
    probe: Consumer,
    group_id: str,
    since_ms: int,
    until_ms: int,
    timeout: float = 10.0,
) -> list[Span]:
    """The records at or after ``since_ms`` and before ``until_ms`` that each partition the
    group has committed would recompute. Only what the group already processed counts: the
    end stops at its committed offset, since what lies beyond is its worker's to do anyway;
    a partition without a committed offset has nothing to recompute."""
    plan = []
    for (topic, partition), offset in committed_offsets(admin, group_id, timeout).items():
        start, found_start = offset_for_time(probe, topic, partition, since_ms, timeout)
        end, found_end = offset_for_time(probe, topic, partition, until_ms, timeout)
        end = min(end, start if offset is None else offset)
        start = min(start, end)
        method = found_start if found_start == found_end else f"{found_start}/{found_end}"
        plan.append(Span(topic, partition, offset, start, end, method))
    return plan


def apply_rewind(
    admin: AdminClient, group_id: str, plan: list[Rewind], timeout: float = 10.0
) -> None:
    """Commit the planned offsets for the group (its members must be stopped first)."""
    commit_offsets(admin, group_id, {(r.topic, r.partition): r.target for r in plan}, timeout)


def commit_offsets(
    admin: AdminClient,
    group_id: str,
    offsets: Mapping[tuple[str, int], int],
    timeout: float = 10.0,
    patience_s: float = 0.0,
) -> None:
    """Set the group's committed offsets (its members must be stopped first). A refusal is
    retried for up to ``patience_s``: a member that has just left may still count a moment.

    A refusal comes per partition (the local broker answers UNKNOWN_MEMBER_ID while members
    are connected) rather than as a failed request, so each partition's answer is checked.
    """
    partitions = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
    request = [ConsumerGroupTopicPartitions(group_id, partitions)]
    deadline = time.monotonic() + patience_s
    while True:
        try:
            for future in admin.alter_consumer_group_offsets(
                request, request_timeout=timeout
            ).values():
                answer = future.result().topic_partitions or []
                refused = [tp for tp in answer if tp.error is not None]
                if refused:
                    raise KafkaException(refused[0].error)
            return
        except KafkaException:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)
