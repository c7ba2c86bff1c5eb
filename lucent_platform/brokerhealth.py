"""Broker-side health from what the Kafka admin API reports: pure, no broker needed.

The adapter (``adapters/kafka_health.py``) reads one ``BrokerSample``; here it becomes, per
topic, partition balance and replication, and per consumer group, its state and members.
Rebalances are counted between two samples of a group::

    before = GroupSample("lucent-processor", "stable", members=(("m1", ()),))
    during = GroupSample("lucent-processor", "preparing_rebalance", members=())
    rebalances_between(before, during)   # 1: it entered a rebalance

A group counts one rebalance when it is seen entering one (a settled state, ``stable`` or
``empty``, then any other) or when two settled samples differ in state or in members and
their assignment (it went through a whole rebalance between the samples). Rebalances that
start and end between two samples without changing the members are not seen: the workers'
own ``lucent_rebalances_total`` counts every one. Tansu 0.6 reports a group's state
(``stable``, ``empty``, and ``unknown`` while it rebalances) but no members, so there the
count comes from the states alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Partition = tuple[str, int]
SETTLED = frozenset({"stable", "empty"})
"""Group states outside a rebalance; ``dead`` (the group is gone) is not a rebalance either."""


@dataclass(frozen=True)
class PartitionSample:
    topic: str
    partition: int
    leader: int  # broker id; -1 when the partition has none
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    records: int  # high − low watermark


@dataclass(frozen=True)
class GroupSample:
    group: str
    state: (
        str  # lower case: stable, empty, preparing_rebalance, completing_rebalance, unknown, dead
    )
    members: tuple[tuple[str, tuple[Partition, ...]], ...] = ()
    """(member id, its assigned partitions), sorted; empty where the broker reports none."""


@dataclass(frozen=True)
class BrokerSample:
    brokers: tuple[int, ...]
    partitions: tuple[PartitionSample, ...]
    groups: tuple[GroupSample, ...]


@dataclass(frozen=True)
class TopicHealth:
    topic: str
    partitions: int
    records: int
    record_skew: float
    """Largest partition's records over the mean (1.0: even; 1.0 for an empty topic)."""
    leader_skew: float
    """Most leaders one broker holds over the mean per broker (1.0: even)."""
    leaders: tuple[tuple[int, int], ...]  # (broker id, partitions it leads), sorted
    under_replicated: int  # partitions whose in-sync replicas are fewer than their replicas
    offline: int  # partitions without a leader


@dataclass(frozen=True)
class GroupHealth:
    group: str
    state: str
    members: int | None
    """Members the broker lists; None when it lists none for a live group (Tansu describes
    a group's state but not its members: "0" there would read as a group nobody serves)."""
    rebalances: int  # counted since the observer started (``RebalanceCounter``)


@dataclass(frozen=True)
class BrokerHealth:
    brokers: int
    topics: tuple[TopicHealth, ...]
    groups: tuple[GroupHealth, ...]

    @property
    def under_replicated(self) -> int:
        return sum(t.under_replicated for t in self.topics)


def skew(values: Sequence[int]) -> float:
    """max / mean of ``values``: 1.0 when even (or all zero, or none), n when one holds all."""
    total = sum(values)
    if not values or total <= 0:
        return 1.0
    return max(values) / (total / len(values))


def topic_health(
    partitions: Iterable[PartitionSample], brokers: Sequence[int]
) -> tuple[TopicHealth, ...]:
    """Each topic's balance and replication, by topic name."""
    by_topic: dict[str, list[PartitionSample]] = {}
    for p in partitions:
        by_topic.setdefault(p.topic, []).append(p)
    out = []
    for topic, parts in sorted(by_topic.items()):
        leaders = dict.fromkeys(brokers, 0)
        for p in parts:
            if p.leader >= 0:
                leaders[p.leader] = leaders.get(p.leader, 0) + 1
        out.append(
            TopicHealth(
                topic=topic,
                partitions=len(parts),
                records=sum(p.records for p in parts),
                record_skew=round(skew([p.records for p in parts]), 3),
                leader_skew=round(skew(list(leaders.values())), 3),
                leaders=tuple(sorted(leaders.items())),
                under_replicated=sum(1 for p in parts if len(set(p.isr)) < len(set(p.replicas))),
                offline=sum(1 for p in parts if p.leader < 0),
            )
        )
    return tuple(out)


def rebalances_between(before: GroupSample | None, after: GroupSample) -> int:
    """1 if ``after`` shows a rebalance ``before`` did not (see the module doc), else 0."""
    if before is None:
        return 0
    if before.state in SETTLED and after.state not in SETTLED | {"dead"}:
        return 1
    if before.state in SETTLED and after.state in SETTLED:
        return int((before.state, before.members) != (after.state, after.members))
    return 0


class RebalanceCounter:
    """Rebalances per group, counted over successive samples (the observer keeps one)."""

    def __init__(self) -> None:
        self.last: dict[str, GroupSample] = {}
        self.counts: dict[str, int] = {}

    def observe(self, groups: Iterable[GroupSample]) -> Mapping[str, int]:
        for g in groups:
            self.counts[g.group] = self.counts.get(g.group, 0) + rebalances_between(
                self.last.get(g.group), g
            )
            self.last[g.group] = g
        return self.counts


def broker_health(sample: BrokerSample, rebalances: Mapping[str, int]) -> BrokerHealth:
    """The sample's topics and groups, with each group's rebalances counted so far."""
    return BrokerHealth(
        brokers=len(sample.brokers),
        topics=topic_health(sample.partitions, sample.brokers),
        groups=tuple(
            GroupHealth(g.group, g.state, _members(g), rebalances.get(g.group, 0))
            for g in sorted(sample.groups, key=lambda g: g.group)
        ),
    )


def _members(group: GroupSample) -> int | None:
    if group.members or group.state in ("empty", "dead"):
        return len(group.members)
    return None
