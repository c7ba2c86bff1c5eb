"""The event store port: the contract every event store adapter honours.

Domain handlers record what happened to an opportunity or a portfolio as events appended
to one stream per aggregate, guarded by optimistic concurrency, and other components follow
every stream at once through a catch-up subscription. The contract mirrors EventStoreDB's
(as exposed by ``esdbclient``), so the production adapter is a thin mapping and the embedded
SQLite adapter behaves the same way:

- **Stream positions** are zero-based and gapless within a stream.
- **Commit positions** order all events of all streams; they increase strictly in the order
  events become visible but are *not* gapless. Each event has its own commit position.
- ``current_version`` on append: ``None`` (:data:`NO_STREAM`) means the stream must not
  exist yet, an ``int`` is the stream position of the stream's last event, ``"any"``
  (:data:`ANY`) skips the check. A mismatch raises :class:`WrongExpectedVersion`.
- **Idempotent appends**: re-appending events whose ids are already recorded in that stream,
  as the same batch with the same ``current_version`` (or ``"any"``), changes nothing and
  returns the commit position the first append returned. This makes retrying an append
  whose outcome is unknown (timeout, crash) safe.
- ``read_all`` and ``subscribe_to_all`` with a ``commit_position`` deliver the events
  *after* it; pass only positions the store gave you (EventStoreDB requires existing ones).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Literal, Self, TypeAlias
from uuid import UUID, uuid4

ExpectedVersion: TypeAlias = int | Literal["any"] | None
"""What an append expects of the stream: ``None`` no stream, ``int`` last position, ``"any"``."""

NO_STREAM: Final = None
"""``current_version`` for a stream that must not exist yet (``StreamState.NO_STREAM``)."""

ANY: Final = "any"
"""``current_version`` that disables the concurrency check (``StreamState.ANY``)."""

DEFAULT_POLL_INTERVAL: Final = 0.05
"""Seconds between checks for new events (SQLite) or for a stop request (EventStoreDB)."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. ``id`` makes retried appends idempotent: keep it across retries."""

    type: str
    data: bytes
    metadata: bytes = b""
    id: UUID = field(default_factory=uuid4)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored: where it sits in its stream and in the global order.

    ``commit_position`` is -1 only when an old EventStoreDB (21.10) omits it on stream reads.
    ``recorded_at_ms`` is the store's UTC clock in integer milliseconds since the epoch.
    """

    id: UUID
    type: str
    data: bytes
    metadata: bytes
    stream_name: str
    stream_position: int
    commit_position: int
    recorded_at_ms: int


class EventStoreError(Exception):
    """Base class of every error an event store adapter raises."""


class WrongExpectedVersion(EventStoreError):
    """The stream's current version is not the one the append expected (a concurrent writer)."""


class StreamNotFound(EventStoreError):
    """The stream has no events (it was never appended to)."""


class EventStore(ABC):
    """Append, read and follow event streams. Adapters connect lazily on first use."""

    @abstractmethod
    def append_to_stream(
        self,
        stream_name: str,
        *,
        current_version: ExpectedVersion,
        events: Sequence[NewEvent],
    ) -> int:
        """Append ``events`` atomically; return the commit position of the last one.

        Raises :class:`WrongExpectedVersion` when ``current_version`` does not match.
        """

    @abstractmethod
    def get_stream(
        self,
        stream_name: str,
        *,
        stream_position: int | None = None,
        limit: int | None = None,
        backwards: bool = False,
    ) -> tuple[RecordedEvent, ...]:
        """Return a stream's events from ``stream_position`` (inclusive), in either direction.

        Without ``stream_position`` reading starts at the first event (forwards) or the last
        (backwards). Raises :class:`StreamNotFound` if the stream does not exist.
        """

    @abstractmethod
    def get_current_version(self, stream_name: str) -> int | None:
        """Return the stream position of the stream's last event, ``None`` if no stream."""

    @abstractmethod
    def read_all(
        self, *, commit_position: int | None = None, limit: int | None = None
    ) -> Iterator[RecordedEvent]:
        """Iterate over the events of all streams recorded after ``commit_position``, in order.

        The iterator ends at the current end of the store; see :meth:`subscribe_to_all`.
        """

    @abstractmethod
    def subscribe_to_all(
        self,
        *,
        commit_position: int | None = None,
        stop: threading.Event | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> Iterator[RecordedEvent]:
        """Catch-up subscription: yield the events after ``commit_position``, then new ones.

        Blocks waiting for new events and ends once ``stop`` is set (within about
        ``poll_interval`` seconds). Close the returned generator if you leave it early.
        """

    @abstractmethod
    def close(self) -> None:
        """Release connections. The store reconnects if it is used again."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def check_append(
    stream_name: str, current_version: ExpectedVersion, events: Sequence[NewEvent]
) -> None:
    """Reject malformed appends the same way in every adapter (ValueError, before any I/O)."""
    check_stream_name(stream_name)
    if current_version is not None and current_version != ANY:
        if isinstance(current_version, bool) or not isinstance(current_version, int):
            raise ValueError(
                f"current_version must be None, 'any' or an int, got {current_version!r}"
            )
        if current_version < 0:
            raise ValueError(f"current_version must be >= 0, got {current_version}")
    if not events:
        raise ValueError(f"append to {stream_name!r} has no events")
    ids = [event.id for event in events]
    if len(set(ids)) != len(ids):
        raise ValueError(f"append to {stream_name!r} repeats an event id: {ids}")


def check_stream_name(stream_name: str) -> None:
    """Stream names are non-empty strings; ``$``-prefixed names are EventStoreDB system streams."""
    if not isinstance(stream_name, str) or not stream_name:
        raise ValueError(f"stream name must be a non-empty string, got {stream_name!r}")
    if stream_name.startswith("$"):
        raise ValueError(f"stream names starting with '$' are reserved: {stream_name!r}")


def check_limit(limit: int | None) -> None:
    """``limit`` is ``None`` (no limit) or a positive int."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be None or a positive int, got {limit!r}")
