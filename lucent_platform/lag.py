"""Consumer lag, throughput and freshness of a topic, from offsets: pure, no broker needed.

The observation sensor reads offsets through the Kafka adapter and hands them here::

    ends = {("market.prices.all", 0): (0, 120), ("market.prices.all", 1): (0, 80)}
    group_lag(ends, {("market.prices.all", 0): 100})          # 20 + 80 = 100
    rate = throughput(Mark(150, 1_000), Mark(200, 11_000))    # 5.0 messages/s

Lag counts the records a group has still to read: per partition ``high − committed``; a
partition the group never committed counts from its low watermark (all that is retained is
unread). A group that committed nothing on the topic has no lag to report (``None``): it does
not read that topic (yet). Throughput is the growth of the summed high watermarks (records
written, whatever retention removed since) over the wall-clock time between two observations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Partition = tuple[str, int]
Ends = Mapping[Partition, tuple[int, int]]
"""(topic, partition) → (low, high) watermarks."""


def group_lag(ends: Ends, committed: Mapping[Partition, int]) -> int | None:
    """Records of ``ends``' partitions the group has not committed past (see the module doc).

    ``committed`` holds the group's committed offsets; a missing or negative entry (librdkafka
    answers ``-1001`` for "none") means the group never committed that partition.
    """
    if not any(committed.get(partition, -1) >= 0 for partition in ends):
        return None
    lag = 0
    for partition, (low, high) in ends.items():
        offset = committed.get(partition, -1)
        lag += max(high - (offset if offset >= 0 else low), 0)
    return lag


def written(ends: Ends) -> int:
    """Records ever written to these partitions: the sum of their high watermarks."""
    return sum(high for _, high in ends.values())


@dataclass(frozen=True)
class Mark:
    """What an observation saw of one topic: records written so far, and when (epoch ms)."""

    written: int
    at_ms: int


def throughput(previous: Mark | None, current: Mark) -> float | None:
    """Records per second written between two marks; ``None`` on the first observation, when
    no time passed, or when the topic shrank (deleted and recreated in between)."""
    if previous is None:
        return None
    elapsed_ms = current.at_ms - previous.at_ms
    grown = current.written - previous.written
    if elapsed_ms <= 0 or grown < 0:
        return None
    return grown * 1000 / elapsed_ms


def newest(timestamps: Iterable[int | None]) -> int | None:
    """The newest of the partitions' last-record timestamps (epoch ms), if any has one."""
    known = [ts for ts in timestamps if ts is not None and ts > 0]
    return max(known) if known else None


def encode_marks(marks: Mapping[str, Mark]) -> str:
    """The sensor cursor: every topic's last mark, as compact JSON."""
    payload = {topic: [mark.written, mark.at_ms] for topic, mark in sorted(marks.items())}
    return json.dumps(payload, separators=(",", ":"))


def decode_marks(cursor: str | None) -> dict[str, Mark]:
    """The marks of a cursor written by ``encode_marks``; anything else reads as no marks (the
    next observation then starts afresh instead of failing)."""
    if not cursor:
        return {}
    try:
        payload = json.loads(cursor)
    except ValueError:
        return {}
    if not isinstance(payload, dict):
        return {}
    marks = {}
    for topic, value in payload.items():
        if (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            marks[str(topic)] = Mark(value[0], value[1])
    return marks
