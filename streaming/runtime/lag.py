"""A consumer's lag per partition as it knows it, for the metrics endpoint.

Position (the next offset it fetches) against the high watermark of its last fetch response:
no broker round trip, so a worker's loop can measure it every second. It must be measured in
the loop's own thread: the endpoint's thread calling the consumer while the loop polls it
blocked both. On the local Tansu broker the watermark after a batched write is the batch's
base offset + 1 (README, Operations notes), so there it reads low, never high.
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import Consumer, TopicPartition

Partition = tuple[str, int]
LAG_EVERY_S = 1.0
"""How often a worker's loop measures its partitions' lag."""


def consumer_lag(consumer: Consumer, partitions: Iterable[Partition]) -> dict[Partition, int]:
    """Records behind the high watermark per partition (those fetched from at least once)."""
    lag: dict[Partition, int] = {}
    for tp in consumer.position([TopicPartition(t, p) for t, p in partitions]):
        if tp.offset < 0:  # nothing fetched yet
            continue
        _low, high = consumer.get_watermark_offsets(tp, cached=True)
        if high >= 0:
            lag[(tp.topic, tp.partition)] = max(high - tp.offset, 0)
    return lag
