"""Tables a processor joins its stream with (stream–table joins), kept current by the runtime.

A processor that joins compacted topics as tables (``Joined``: a ``tables()`` method returning
``lucent_platform.signals.Table`` values, e.g. the alert engine's rules on ``user.alert-rules``)
gets them filled and followed by ``run_worker``:

- at start, before the group subscription (so before any input, and before a checkpoint
  rebuild replays input through the processor), each table's topic is read from its beginning
  to its end and every record applied in offset order (a tombstone deletes);
- then, at every loop iteration before the batch is processed, whatever was appended since is
  applied, so a rule written while the worker runs takes effect with the next input record
  after it arrived (at most one ``idle_timeout_s`` poll later on a quiet input).

A second consumer, not the group's: every instance needs every partition of a table, which
a group would split between instances, and a rebalance would take them away; librdkafka does
not mix a subscription with manual assignments on one consumer. It never commits: a table is
re-read from its beginning on every start (compaction keeps that short: one record per key).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from lucent_platform.adapters import kafka
from lucent_platform.config import Settings
from lucent_platform.signals.table import Table
from streaming.runtime.checkpoints import _read
from streaming.runtime.metrics import WorkerMetrics
from streaming.runtime.records import InRecord

log = logging.getLogger(__name__)

RETRY_S = 5.0  # how often a table topic missing at start is looked for again
FOLLOW_BATCH = 10_000


@runtime_checkable
class Joined(Protocol):
    """A processor that joins its input with tables from compacted topics."""

    def tables(self) -> Sequence[Table[Any]]: ...


class TableFollower:
    """Loads a processor's tables at start and applies what their topics gain while running."""

    def __init__(
        self, tables: Sequence[Table[Any]], metrics: WorkerMetrics, reader: Callable[[], Consumer]
    ) -> None:
        self.tables = {t.topic: t for t in tables}
        self.metrics = metrics
        self._reader = reader
        self._consumer: Consumer | None = None
        self._missing: set[str] = set(self.tables)
        self._retry_at = 0.0

    def load(self) -> None:
        """Read every table topic from its beginning to its current end, then follow it."""
        started = time.monotonic()
        self._consumer = self._reader()
        self._discover()
        sizes = ", ".join(f"{t}: {len(table)} keys" for t, table in self.tables.items())
        log.info("tables loaded in %.2fs (%s)", time.monotonic() - started, sizes)

    def poll(self) -> int:
        """Apply what the followed topics gained since the last call; never waits for more."""
        if self._consumer is None:
            return 0
        if self._missing and time.monotonic() >= self._retry_at:
            self._discover()
        applied = 0
        while True:
            messages = self._consumer.consume(FOLLOW_BATCH, 0)
            records = [_record(m) for m in messages if m.error() is None]
            if records:
                self._apply(records)
                applied += len(records)
            if len(messages) < FOLLOW_BATCH:
                return applied

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def _discover(self) -> None:
        """Read the topics not yet followed (all of them at start) to their ends, then add
        them to the followed assignment at those ends."""
        assert self._consumer is not None
        consumer = self._consumer
        found: list[TopicPartition] = []
        for topic in sorted(self._missing):
            meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
            if meta is None or meta.error is not None or not meta.partitions:
                log.warning("table topic %s does not exist (yet): its table stays empty", topic)
                continue
            found += [TopicPartition(topic, p) for p in sorted(meta.partitions)]
        self._retry_at = time.monotonic() + RETRY_S
        if not found:
            return
        followed = consumer.assignment()
        consumer.unassign()
        ends = kafka.end_offsets(consumer, found)
        spans = {tp: (OFFSET_BEGINNING, high) for tp, (low, high) in ends.items() if high > low}
        _read(consumer, spans, self._apply)
        consumer.assign([*followed, *(TopicPartition(t, p, ends[(t, p)][1]) for t, p in ends)])
        self._missing.difference_update(t for t, _ in ends)

    def _apply(self, records: list[InRecord]) -> None:
        for topic, table in self.tables.items():
            mine = [r for r in records if r.topic == topic]
            if mine:
                changed = table.apply(mine)
                self.metrics.counts["table_updates"] += len(changed)


def _record(m: Any) -> InRecord:
    return InRecord(m.topic() or "", m.partition() or 0, m.offset() or 0, m.timestamp()[1],
                    m.key(), m.value())  # fmt: skip


def table_reader(settings: Settings, bootstrap: str, group_id: str) -> Callable[[], Consumer]:
    """The follower's consumer: assigned by hand, committing nothing, read_committed."""

    def make() -> Consumer:
        return kafka.consumer(
            settings, bootstrap, f"{group_id}.tables",
            **{"isolation.level": "read_committed", "enable.partition.eof": False,
               "enable.auto.commit": False},
        )  # fmt: skip

    return make
