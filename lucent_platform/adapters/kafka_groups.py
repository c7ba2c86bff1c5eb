"""Consumer groups' committed offsets, live members and the partitions' ends, for
``lucent status`` and the monitor's one-instance check.

Nothing here joins a group: committed offsets come from an OffsetFetch through the admin
client, watermarks from an unsubscribed probe, so asking never rebalances the
workers that own the groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient

from lucent_platform.adapters.kafka import (
    committed_offsets,
    consumer,
    tails,
)
from lucent_platform.config import Settings
from lucent_platform.lag import Ends, Partition

PROBE_GROUP = "lucent-status"  # names the probe consumer only: it never joins or commits


def partitions(settings: Settings, bootstrap: str, timeout: float = 10.0) -> list[Partition]:
    """Every partition of every non-internal topic."""
    probe = consumer(settings, bootstrap, group_id=PROBE_GROUP)
    try:
        topics = probe.list_topics(timeout=timeout).topics
    finally:
        probe.close()
    return [
        (name, p)
        for name, topic in sorted(topics.items())
        if not name.startswith("__")
        for p in topic.partitions
    ]


def committed(
    settings: Settings,
    bootstrap: str,
    groups: Iterable[str],
    on: list[Partition],
    timeout: float = 10.0,
) -> dict[str, dict[Partition, int]]:
    """Each group's committed offsets on the partitions ``on`` (-1001 where it has none)."""
    # Warnings and worse only: librdkafka's info line about purging the background queue at
    # close would otherwise land on every `lucent status` screen.
    client = AdminClient({**settings.kafka_common(bootstrap), "log_level": 4})
    wanted = [TopicPartition(topic, p) for topic, p in on]
    return {group: committed_offsets(client, group, wanted, timeout) for group in groups}


@dataclass(frozen=True)
class Member:
    """A live member of a consumer group, as the group coordinator describes it."""

    member_id: str
    client_id: str
    host: str


@dataclass(frozen=True)
class Group:
    """A consumer group's state (``stable``, ``empty``, ...) and members as described."""

    state: str
    members: tuple[Member, ...]

    @property
    def live(self) -> bool:
        """Someone is in it: members listed, or a state only a group with members has
        (the local broker reports ``stable`` without listing the members)."""
        return bool(self.members) or self.state in _LIVE


_LIVE = {"stable", "preparing_rebalance", "completing_rebalance"}


def describe(settings: Settings, bootstrap: str, group: str, timeout: float = 10.0) -> Group:
    """The group as its coordinator describes it (a DescribeGroups through the admin client,
    which joins nothing)."""
    client = AdminClient({**settings.kafka_common(bootstrap), "log_level": 4})
    found = client.describe_consumer_groups([group], request_timeout=timeout)[group].result()
    return Group(
        found.state.name.lower(),
        tuple(Member(m.member_id, m.client_id, m.host) for m in found.members),
    )


def ends(settings: Settings, bootstrap: str, on: list[Partition], timeout: float = 2.0) -> Ends:
    """(low, high) watermarks of ``on``, the high one checked by reading (see ``kafka.tails``);
    ``timeout`` bounds the reading, which on busy partitions goes on until it runs out."""
    probe = consumer(settings, bootstrap, group_id=PROBE_GROUP)
    try:
        found = tails(probe, [TopicPartition(topic, p) for topic, p in on], timeout)
    finally:
        probe.close()
    return {key: (tail.low, tail.high) for key, tail in found.items()}
