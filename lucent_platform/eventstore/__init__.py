"""Domain event store: the port, its SQLite (embedded) and EventStoreDB adapters, a factory.

Import ``EventStoreDBStore`` from :mod:`lucent_platform.eventstore.esdb` directly; it is not
re-exported so that using the embedded store does not import esdbclient and gRPC.
"""

from __future__ import annotations

from lucent_platform.eventstore.factory import open_event_store
from lucent_platform.eventstore.port import (
    ANY,
    NO_STREAM,
    EventStore,
    EventStoreError,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    StreamNotFound,
    WrongExpectedVersion,
)
from lucent_platform.eventstore.sqlite import SQLiteEventStore

__all__ = [
    "ANY",
    "NO_STREAM",
    "EventStore",
    "EventStoreError",
    "ExpectedVersion",
    "NewEvent",
    "RecordedEvent",
    "SQLiteEventStore",
    "StreamNotFound",
    "WrongExpectedVersion",
    "open_event_store",
]
