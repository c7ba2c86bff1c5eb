"""Where a bounded run stops: the end offset of each partition (``lucent reprocess --until``).

A bounded run reads each partition from the group's committed offset up to, not including,
its bound, and is finished when every bounded partition got there. It is the loop's
bookkeeping for that: which records to admit, which partitions are finished (and so paused),
and when the whole run is. Partitions without a bound are not read at all. Everything is
forgotten on revocation and found again on assignment (from the committed offset, which a
revocation has just made current), so rebalances need no special care.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from confluent_kafka import Message

Partition = tuple[str, int]


class Bounds:
    """Per partition: the bound, and whether the run got there."""

    def __init__(self, until: Mapping[Partition, int], subscribe: Sequence[str]) -> None:
        outside = sorted(tp for tp in until if not _subscribed(tp[0], subscribe))
        if outside:
            # never assigned, so never finished: the run would wait forever
            raise ValueError(f"bounded partitions outside the subscription {subscribe}: {outside}")
        self.until = dict(until)
        self.done: set[Partition] = set()
        self.unresolved: set[Partition] = set()
        self.idle: set[Partition] = set()  # assigned without a bound: never read
        self._new_idle: set[Partition] = set()

    @property
    def finished(self) -> bool:
        return self.done >= self.until.keys()

    def assigned(self, partitions: Iterable[Partition]) -> None:
        """Gained partitions: bounded ones wait to learn their start, the others idle."""
        for tp in partitions:
            if tp in self.until:
                self.unresolved.add(tp)
            else:
                self.idle.add(tp)
                self._new_idle.add(tp)

    def newly_idle(self) -> list[Partition]:
        """Partitions without a bound assigned since the last call: to pause."""
        gained, self._new_idle = sorted(self._new_idle), set()
        return gained

    def revoked(self, partitions: Iterable[Partition]) -> None:
        for tp in partitions:
            self.done.discard(tp)
            self.unresolved.discard(tp)
            self.idle.discard(tp)
            self._new_idle.discard(tp)

    def resolve(self, committed: Mapping[Partition, int | None]) -> list[Partition]:
        """Where newly assigned partitions start (their committed offsets, None if none);
        returns those already at their bound, to pause: start == end means nothing to do."""
        reached = []
        for tp, offset in committed.items():
            if tp not in self.unresolved:
                continue
            self.unresolved.discard(tp)
            if offset is not None and offset >= self.until[tp]:
                self.done.add(tp)
                reached.append(tp)
        return reached

    def admit(self, messages: list[Message]) -> tuple[list[Message], list[Partition]]:
        """The records below their partition's bound; and the partitions this batch finished
        (it reaches their bound, or holds a record at or past it), to pause."""
        kept: list[Message] = []
        reached: list[Partition] = []
        for m in messages:
            tp, offset = (m.topic() or "", m.partition() or 0), m.offset() or 0
            bound = self.until.get(tp)
            if bound is None or tp in self.done:
                continue
            if offset < bound:
                kept.append(m)
            if offset + 1 >= bound:
                self.done.add(tp)
                reached.append(tp)
        return kept, reached

    def moved(self, positions: Mapping[Partition, int]) -> list[Partition]:
        """Consumer positions of partitions still running: one at or past its bound with no
        record left to see (say, only transaction markers before it) is finished too."""
        reached = []
        for tp, position in positions.items():
            if tp in self.until and tp not in self.done and position >= self.until[tp]:
                self.done.add(tp)
                reached.append(tp)
        return reached

    def running(self, assignment: Iterable[Partition]) -> list[Partition]:
        """Assigned bounded partitions that are neither finished nor waiting to resolve."""
        return [
            tp
            for tp in assignment
            if tp in self.until and tp not in self.done and tp not in self.unresolved
        ]


def _subscribed(topic: str, subscribe: Sequence[str]) -> bool:
    """Whether ``topic`` is among the subscription's names or matches one of its regexes."""
    return any(
        re.fullmatch(pattern, topic) if pattern.startswith("^") else pattern == topic
        for pattern in subscribe
    )
