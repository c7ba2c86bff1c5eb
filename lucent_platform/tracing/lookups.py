"""The real lookups of a trace: the event store, Kafka records, ClickHouse rows.

Events are found by id with one forward pass over ``read_all`` (the port has no read by id),
kept in memory as it goes: a cause is always recorded before its effect, so once the event
asked about is found its ancestors are already held. Kafka and ClickHouse are optional (a
trace with the stack stopped still shows the events, and says what it could not read).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lucent_platform.eventstore import EventStore, RecordedEvent

if TYPE_CHECKING:
    from lucent_platform.adapters.clickhouse import Client

RecordReader = Callable[[str, int, int], bytes | None]


class StoreLookups:
    """``chain.Lookups`` over an event store and, when given, Kafka and ClickHouse."""

    def __init__(
        self,
        store: EventStore,
        *,
        read_record: RecordReader | None = None,
        clickhouse: Client | None = None,
    ) -> None:
        self.store = store
        self.read_record = read_record
        self.clickhouse = clickhouse
        self._events: dict[str, RecordedEvent] = {}
        self._scan: Iterator[RecordedEvent] | None = None
        self._scanned = False

    def event(self, event_id: str) -> RecordedEvent | None:
        if event_id in self._events or self._scanned:
            return self._events.get(event_id)
        if self._scan is None:
            self._scan = self.store.read_all()
        for recorded in self._scan:
            self._events[str(recorded.id)] = recorded
            if str(recorded.id) == event_id:
                return recorded
        self._scanned = True
        return None

    def record(self, topic: str, partition: int, offset: int) -> bytes | None:
        if self.read_record is None:
            return None
        return self.read_record(topic, partition, offset)

    def row(self, message_id: str, tables: Sequence[str]) -> tuple[str, dict[str, Any]] | None:
        if self.clickhouse is None:
            return None
        for table in tables:
            try:
                result = self.clickhouse.query(
                    f"SELECT * FROM {table} FINAL WHERE message_id = {{id:String}} LIMIT 1",
                    parameters={"id": message_id},
                )
            except Exception:  # a table not migrated yet; the client's errors live in adapters
                continue
            for row in result.named_results():
                return table, {name: _plain(value) for name, value in row.items()}
        return None


def _plain(value: Any) -> Any:
    """ClickHouse values as JSON: times as UTC epoch ms, like everywhere else."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return round(aware.timestamp() * 1000)
    if isinstance(value, float) and value != value:
        return None
    return value
